-- PICTURE: the issuing browser asks for the plain image of its open order.
-- A hand-off's static code works from now on (field m); an approve order
-- gets no static code at all (its image carries the current frame), and no
-- image once a signed-in phone has it open (scanned, with a viewer: v): the
-- screen stops showing it, so that a second person cannot scan it.
-- KEYS[1]: the order
-- ARGV: binding, user
--   binding: the asking browser's binding digest
--   user: the signed-in user's id ('' for an approve order, which has none yet)
-- Returns: when the order was created (seconds), or nil
local f, b, u, s, t, v = unpack(redis.call('HMGET', KEYS[1], 'f', 'b', 'u', 's', 't', 'v'))
if b ~= ARG.binding or (u or '') ~= ARG.user or not OPEN[s] then return false end
if f == FLOW.approve and s == STATE.scanned and (v or '') ~= '' then return false end
if f == FLOW.handoff then redis.call('HSET', KEYS[1], 'm', '1') end
return t
