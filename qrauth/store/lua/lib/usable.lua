-- Whether a scan token (ARG.elapsed, '' for a static code) may use the
-- open order of its flow (ARG.flow) now (ARG.now, seconds). A static code
-- works once its image was minted (hand-off only); an animated frame while
-- it is fresh: within ARG.tolerance seconds of now (one second ahead for
-- clock skew), or later when the scanner's session vouches that it was
-- fresh at its GET (ARG.vouched '1').
local function usable(order)
  if order == nil or order.f ~= ARG.flow or not OPEN[order.s] then return false end
  if ARG.elapsed == '' then return order.f == FLOW.handoff and order.m == '1' end
  if ARG.vouched == '1' then return true end
  local age = tonumber(ARG.now) - tonumber(order.t)
  local elapsed = tonumber(ARG.elapsed)
  return elapsed <= age + 1 and elapsed >= age - tonumber(ARG.tolerance)
end
