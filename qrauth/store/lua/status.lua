-- STATUS: the issuing browser's poll, one round trip.
-- KEYS[1]: the order
-- ARGV: binding, now_ms, interval
--   interval: the minimum ms between polls (0: none)
-- Returns: nil when gone; else pairs: answer (forbidden, slow_down or ok),
--   and wait (ms) or the order's s, t, d, n, f, i, v and its pttl (ms)
--#include slow_down
local b, s, t, d, n, f, i, v = unpack(
  redis.call('HMGET', KEYS[1], 'b', 's', 't', 'd', 'n', 'f', 'i', 'v'))
if not s then return false end
if b ~= ARG.binding then return {'answer', 'forbidden'} end
local wait = slow_down('l')
if wait then return {'answer', 'slow_down', 'wait', wait} end
return {'answer', 'ok', 's', s, 't', t, 'd', d or '', 'n', n or '', 'f', f, 'i', i or '',
  'v', v or '', 'pttl', redis.call('PTTL', KEYS[1])}
