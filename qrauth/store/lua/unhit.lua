-- UNHIT: a refused order gives its count back to a limit that did not
-- refuse it. DECR keeps the window's TTL; a window that ended meanwhile is
-- left alone.
-- KEYS[1]: the counter
-- ARGV:
-- Returns: the count now
if (tonumber(redis.call('GET', KEYS[1])) or 0) > 0 then return redis.call('DECR', KEYS[1]) end
return 0
