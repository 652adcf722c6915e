-- DECIDE: approve, the first signed-in phone to answer claims the order,
-- for good. Its answer is final: approved, denied, or denied for a wrong
-- number (ARG.number_ok: whether the number typed is this claimer's).
-- KEYS[1]: the order
-- ARGV: device, elapsed, now, tolerance, vouched, flow, claimer, approve, number_ok, user, auth, seal, decided
--   approve: '1' approves, '0' denies; user, auth: the phone's user id and
--   auth digest; seal: the seal of the approved sign-in, made at decided (seconds)
-- Returns: pairs: outcome (decided, mine, taken or unusable) and state
--   (for unusable, '' when as good as gone); for decided, also the
--   requester (the browser that asked) and its address, for the record
--#include order
--#include usable
--#include announce
local order = load_order()
if order and order.f == ARG.flow and order.c then  -- another flow's claim is not this one's
  return {'outcome', order.c == ARG.claimer and 'mine' or 'taken', 'state', order.s}
end
if not usable(order) then
  return {'outcome', 'unusable', 'state', (order and order.f == ARG.flow) and order.s or ''}
end
local state = STATE.denied
if ARG.approve == '1' then
  state = STATE.approved
  if (order.n or '') ~= '' and ARG.number_ok ~= '1' then state = STATE.wrong_number end
end
redis.call('HSET', KEYS[1], 's', state, 'c', ARG.claimer, 'd', ARG.device)
if state == STATE.approved then
  redis.call('HSET', KEYS[1], 'u', ARG.user, 'a', ARG.auth, 'z', ARG.seal, 'e', ARG.decided)
end
announce(state)
return {'outcome', 'decided', 'state', state, 'requester', order.r or '', 'requester_ip', order.i or ''}
