-- DECLINE: hand-off, the scanner says "this was not me". Anyone holding a
-- scan token could use it; so may they refuse it.
-- KEYS[1]: the order
-- ARGV: elapsed, now, tolerance, vouched, flow
-- Returns: 1 if cancelled, else 0
--#include order
--#include usable
--#include announce
if not usable(load_order()) then return 0 end
redis.call('HSET', KEYS[1], 's', STATE.cancelled)
announce(STATE.cancelled)
return 1
