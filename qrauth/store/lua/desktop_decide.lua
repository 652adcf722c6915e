-- DESKTOP_DECIDE: hand-off with desktop confirmation. The issuing desktop
-- allows or denies the phone that asked, the one it saw (ARG.claimer): a
-- claim that changed meanwhile is not allowed blind.
-- KEYS[1]: the order
-- ARGV: binding, allow, claimer, seal
--   allow: '1' or '0'; seal: the seal of the allowed sign-in
-- Returns: 1 if decided, else 0
--#include announce
local b, s, c = unpack(redis.call('HMGET', KEYS[1], 'b', 's', 'c'))
if b ~= ARG.binding or s ~= STATE.asking_desktop or c ~= ARG.claimer then return 0 end
if ARG.allow == '1' then
  redis.call('HSET', KEYS[1], 's', STATE.allowed, 'z', ARG.seal)
else
  redis.call('HSET', KEYS[1], 's', STATE.denied)
end
announce(ARG.allow == '1' and STATE.allowed or STATE.denied)
return 1
