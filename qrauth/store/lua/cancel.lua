-- CANCEL: the issuing browser gives up on an order not used yet: pending,
-- scanned, approved but not collected, or a phone waiting for the desktop.
-- KEYS[1]: the order
-- ARGV: binding
-- Returns: 1 if cancelled, else 0
--#include announce
local b, s = unpack(redis.call('HMGET', KEYS[1], 'b', 's'))
if b ~= ARG.binding or not CANCELLABLE[s] then return 0 end
redis.call('HSET', KEYS[1], 's', STATE.cancelled)
announce(STATE.cancelled)
return 1
