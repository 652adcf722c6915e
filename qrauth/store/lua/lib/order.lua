-- The order at KEYS[1], and how a script answers with it.

-- The order's fields as a table; nil when it has no state (gone).
local function load_order()
  local flat = redis.call('HGETALL', KEYS[1])
  local order = {}
  for i = 1, #flat, 2 do order[flat[i]] = flat[i + 1] end
  if not order.s then return nil end
  return order
end

-- The order as it is now, as field/value pairs, and 'ok' ('1' or '0'):
-- whether the token it was asked with may use it.
local function reply(ok)
  local flat = redis.call('HGETALL', KEYS[1])
  table.insert(flat, 'ok')
  table.insert(flat, ok and '1' or '0')
  return flat
end
