-- Tells the waiting screens that the order at KEYS[1] changed: one message
-- on the prefix's events channel ('<prefix>:events'), "<key> <state>", in
-- the same script as the change, so no change goes untold. Every server
-- process listens there on one connection (qrauth/store/events.py) and
-- wakes the screens that wait on that key, which read the order again.
-- A plain PUBLISH reaches every node of a Cluster.
local function announce(state)
  local prefix = string.match(KEYS[1], '^(.*):{')
  redis.call('PUBLISH', prefix .. ':events', KEYS[1] .. ' ' .. state)
end
