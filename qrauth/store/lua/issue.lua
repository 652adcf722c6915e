-- ISSUE: store a new order, which lives ARG.lifetime seconds.
-- KEYS[1]: the order
-- ARGV: lifetime, ...fields
-- Returns: 1
redis.call('HSET', KEYS[1], unpack(ARG.fields))
redis.call('EXPIRE', KEYS[1], ARG.lifetime)
return 1
