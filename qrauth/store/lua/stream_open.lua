-- STREAM_OPEN: one more open event stream for one client (a browser
-- session or a network), unless it holds ARG.most already. A sorted set of
-- stream ids by the ms each ends at (its order's expiry): a stream whose
-- server process died without closing it stops counting then.
-- KEYS[1]: the client's open streams
-- ARGV: stream, until_ms, now_ms, most
-- Returns: 0 when counted; else the ms until its soonest stream ends
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARG.now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARG.most) then
  local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(tonumber(soonest[2]) - tonumber(ARG.now_ms), 1)
end
redis.call('ZADD', KEYS[1], ARG.until_ms, ARG.stream)
local left = tonumber(ARG.until_ms) - tonumber(ARG.now_ms)
if redis.call('PTTL', KEYS[1]) < left then redis.call('PEXPIRE', KEYS[1], left) end
return 0
