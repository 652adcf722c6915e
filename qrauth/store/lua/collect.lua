-- COLLECT: approve, the issuing browser takes the sign-in an approval gave
-- it, once (ARG.take '1'), or only looks at it ('0').
-- KEYS[1]: the order
-- ARGV: binding, take
-- Returns: nil when gone; {'answer', 'forbidden'} for another browser or
--   flow; else pairs: found (the state it was in), then the order's fields
--#include order
--#include announce
local f, b, s = unpack(redis.call('HMGET', KEYS[1], 'f', 'b', 's'))
if not s then return false end
if b ~= ARG.binding or f ~= FLOW.approve then return {'answer', 'forbidden'} end
if s == STATE.approved and ARG.take == '1' then
  redis.call('HSET', KEYS[1], 's', STATE.consumed)
  announce(STATE.consumed)
end
local flat = redis.call('HGETALL', KEYS[1])
table.insert(flat, 1, 'found')
table.insert(flat, 2, s)
return flat
