-- HIT: a rate limit's counter, one more in a fixed window of ARG.window
-- seconds that starts with the first. One key, one call: two requests
-- cannot both take the last place.
-- KEYS[1]: the counter
-- ARGV: window
-- Returns: pairs: count (so far) and ttl (seconds the window has left)
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARG.window) end
return {'count', n, 'ttl', redis.call('TTL', KEYS[1])}
