-- The minimum interval between polls. A poll sooner than ARG.interval ms
-- (0: no limit) after the last one let through gets the ms left to wait;
-- one let through is noted in the order's field ``field`` and gets nil. A
-- poll from a server whose clock is behind (now before the last poll) is
-- let through.
local function slow_down(field)
  local gap = tonumber(ARG.interval)
  if gap <= 0 then return nil end
  local since = tonumber(ARG.now_ms) - tonumber(redis.call('HGET', KEYS[1], field) or 0)
  if since >= 0 and since < gap then return gap - since end
  redis.call('HSET', KEYS[1], field, ARG.now_ms)
  return nil
end
