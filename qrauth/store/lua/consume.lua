-- CONSUME: hand-off, the phone's POST uses the order up; exactly one
-- caller ever gets it back.
-- KEYS[1]: the order
-- ARGV: device, elapsed, now, tolerance, vouched, flow
-- Returns: nil unless the token may use the order; else the order's fields as pairs, and ok
--#include order
--#include usable
--#include announce
if not usable(load_order()) then return false end
redis.call('HSET', KEYS[1], 's', STATE.consumed, 'd', ARG.device)
announce(STATE.consumed)
return reply(true)
