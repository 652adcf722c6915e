-- REFUSE: approve, the sign-in that was collected was refused after all
-- (the account changed since the approval): say so, not "signed in".
-- KEYS[1]: the order
-- ARGV: binding
-- Returns: 1 if marked, else 0
--#include announce
local b, s = unpack(redis.call('HMGET', KEYS[1], 'b', 's'))
if b ~= ARG.binding or s ~= STATE.consumed then return 0 end
redis.call('HSET', KEYS[1], 's', STATE.refused)
announce(STATE.refused)
return 1
