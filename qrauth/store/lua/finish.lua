-- FINISH: the claiming phone takes the sign-in its desktop allowed, once.
-- KEYS[1]: the order
-- ARGV: claimer
-- Returns: nil unless allowed for this claimer; else the order's fields as pairs, and ok
--#include order
--#include announce
local c, s = unpack(redis.call('HMGET', KEYS[1], 'c', 's'))
if c ~= ARG.claimer or s ~= STATE.allowed then return false end
redis.call('HSET', KEYS[1], 's', STATE.consumed)
announce(STATE.consumed)
return reply(true)
