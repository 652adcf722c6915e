-- SCAN: a GET of the scan URL. Notes the device if the token may use the
-- order; never moves it past "scanned". An approve order also notes the
-- signed-in phone session that looks at it (ARG.viewer, '' for none): the
-- requesting screen shows the number derived from it.
-- KEYS[1]: the order
-- ARGV: device, elapsed, now, tolerance, vouched, flow, viewer
-- Returns: nil when gone; else the order's fields as pairs, and ok
--#include order
--#include usable
--#include announce
local order = load_order()
if not order then return false end
local ok = usable(order)
if ok then
  redis.call('HSET', KEYS[1], 's', STATE.scanned, 'd', ARG.device)
  if order.f == FLOW.approve and ARG.viewer ~= '' then
    redis.call('HSET', KEYS[1], 'v', ARG.viewer)
  end
  announce(STATE.scanned)
end
return reply(ok)
