-- ASK_DESKTOP: hand-off with desktop confirmation. The phone's Continue
-- claims the order for its session and asks the issuing desktop.
-- KEYS[1]: the order
-- ARGV: device, elapsed, now, tolerance, vouched, flow, claimer, address
--   claimer: the phone session's claim digest; address: the phone's IP address
-- Returns: nil unless the token may use the order; else the order's fields as pairs, and ok
--#include order
--#include usable
--#include announce
if not usable(load_order()) then return false end
redis.call('HSET', KEYS[1], 's', STATE.asking_desktop, 'd', ARG.device,
  'c', ARG.claimer, 'i', ARG.address)
announce(STATE.asking_desktop)
return reply(true)
