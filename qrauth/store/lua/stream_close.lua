-- STREAM_CLOSE: an event stream ended; it no longer counts for its client.
-- KEYS[1]: the client's open streams
-- ARGV: stream
-- Returns: 1 if it was counted, else 0
return redis.call('ZREM', KEYS[1], ARG.stream)
