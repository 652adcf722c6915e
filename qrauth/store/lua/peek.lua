-- PEEK: a HEAD of a scan URL looks and records nothing: SCAN's answer
-- without its writes.
-- KEYS[1]: the order
-- ARGV: elapsed, now, tolerance, vouched, flow
-- Returns: nil when gone; else the order's fields as pairs, and ok
--#include order
--#include usable
local order = load_order()
if not order then return false end
return reply(usable(order))
