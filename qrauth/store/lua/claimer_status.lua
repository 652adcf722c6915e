-- CLAIMER_STATUS: the poll of the phone that claimed a hand-off order
-- (desktop confirmation).
-- KEYS[1]: the order
-- ARGV: claimer, now_ms, interval
--   interval: the minimum ms between polls (0: none)
-- Returns: nil when gone; else pairs: answer (forbidden, slow_down or
--   ok), and wait (ms) or state and pttl (ms)
--#include slow_down
local c, s = unpack(redis.call('HMGET', KEYS[1], 'c', 's'))
if not s then return false end
if c ~= ARG.claimer then return {'answer', 'forbidden'} end
local wait = slow_down('y')
if wait then return {'answer', 'slow_down', 'wait', wait} end
return {'answer', 'ok', 'state', s, 'pttl', redis.call('PTTL', KEYS[1])}
