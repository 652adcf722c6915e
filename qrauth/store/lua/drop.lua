-- DROP: a refused order, deleted again.
-- KEYS[1]: the order
-- ARGV:
-- Returns: the number of keys deleted
return redis.call('DEL', KEYS[1])
