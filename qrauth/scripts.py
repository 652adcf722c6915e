"""The Lua scripts the store runs in Redis: one per transition of an order.

Redis runs a script from start to end alone, so a check and the change it
allows cannot be split by another client: two phones racing for one code
cannot both win. Every script touches one key (one hash slot), so all of
them run unchanged on Redis Cluster.

An order is a hash with one-letter fields (an open order stays well under
512 bytes):

    f  flow: h (hand-off) or a (approve)
    s  state: p pending, s scanned, a approved, c consumed, x cancelled,
       n denied, w denied by a wrong number, r refused at collect;
       hand-off with desktop confirmation: q asking the desktop, g allowed
    t  created, wall-clock seconds        b  the issuing browser's binding digest
    d  the scanner's device               m  "1" once the static code was minted
    u  user id                            a  that user's auth digest
    k  hand-off: the issuing session's key, sealed
    r  approve: the requesting browser    i  the IP address of the other device
    n  approve: "1" with number matching  c  the claiming session's digest
    v  approve: the digest of the last signed-in phone session that
       scanned; the number to match is derived from it (tokens.match_number)
    z  the seal: a MAC of the fields that decide a sign-in (tokens.order_seal)
    e  when the step the seal allows was taken (issued, approved), seconds
    l  the issuing browser's last status poll, ms
    y  hand-off: the waiting phone's last status poll, ms

Bindings and claims are compared inside Redis. Both sides are HMAC digests
the client cannot steer byte by byte, so the comparison's timing leaks
nothing.
"""

ISSUE = """
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

# The issuing browser asks for the plain image of its open order. A
# hand-off's static code works from now on; an approve order gets no static
# code at all (its image carries the current frame, which goes stale in
# seconds). Returns when the order was created, or false.
# ARGV: binding digest, user id ('' for an approve order, which has none yet).
PICTURE = """
local f, b, u, s, t = unpack(redis.call('HMGET', KEYS[1], 'f', 'b', 'u', 's', 't'))
if b ~= ARGV[1] or (u or '') ~= ARGV[2] or (s ~= 'p' and s ~= 's') then return false end
if f == 'h' then redis.call('HSET', KEYS[1], 'm', '1') end
return t
"""

# Whether a token may use the open order of its flow. A static code (no
# elapsed) works once its image was minted; an animated frame while it is
# fresh: within the tolerance of now (one second ahead for clock skew), or
# later when the scanner's session vouches that it was fresh at its GET.
# ARGV: device, elapsed ('' for static), now, tolerance, vouched ('1'/'0'), flow.
USABLE = """
local function usable(f, s, m, t)
  if f ~= ARGV[6] or (s ~= 'p' and s ~= 's') then return false end
  if ARGV[2] == '' then return f == 'h' and m == '1' end
  if ARGV[5] == '1' then return true end
  local age = tonumber(ARGV[3]) - tonumber(t)
  local elapsed = tonumber(ARGV[2])
  return elapsed <= age + 1 and elapsed >= age - tonumber(ARGV[4])
end
local f, s, m, t = unpack(redis.call('HMGET', KEYS[1], 'f', 's', 'm', 't'))
local ok = usable(f, s, m, t)
"""

FIELDS = ("f", "s", "u", "a", "t", "d", "m", "k", "r", "i", "n", "c", "v", "z", "e")

READ = f"""
local order = redis.call('HMGET', KEYS[1], {", ".join(repr(name) for name in FIELDS)})
table.insert(order, ok and '1' or '0')
return order
"""

# A GET of the scan URL: note the device, never move past "scanned". An
# approve order also notes the signed-in phone session that looks at it
# (ARGV[7], '' for none): the desktop shows the number derived from it.
SCAN = (
    USABLE
    + """
if ok then
  redis.call('HSET', KEYS[1], 's', 's', 'd', ARGV[1])
  if f == 'a' and ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'v', ARGV[7]) end
end
"""
    + READ
)

# Hand-off: the phone's POST uses the order up.
CONSUME = (
    USABLE
    + """
if not ok then return false end
redis.call('HSET', KEYS[1], 's', 'c', 'd', ARGV[1])
"""
    + READ
)

# Hand-off with desktop confirmation: the phone's Continue claims the order
# and asks the issuing desktop. ARGV 7, 8: claimer digest, the phone's address.
ASK_DESKTOP = (
    USABLE
    + """
if not ok then return false end
redis.call('HSET', KEYS[1], 's', 'q', 'd', ARGV[1], 'c', ARGV[7], 'i', ARGV[8])
"""
    + READ
)

# Hand-off with desktop confirmation: the issuing desktop allows (g) or
# denies (n) the phone that asked. ARGV: binding digest, new state, the
# claimer the desktop saw, the seal of the allowed sign-in.
DESKTOP_DECIDE = """
local b, s, c = unpack(redis.call('HMGET', KEYS[1], 'b', 's', 'c'))
if b ~= ARGV[1] or s ~= 'q' or c ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[2])
if ARGV[2] == 'g' then redis.call('HSET', KEYS[1], 'z', ARGV[4]) end
return 1
"""


def _slow_down(field: str) -> str:
    """Refuse a poll that comes sooner than the minimum interval after the
    last one let through; ``field`` keeps when that was. ARGV[2]: now in
    milliseconds, ARGV[3]: the interval (0: no limit). A poll from a server
    whose clock is behind (now before the last poll) is let through."""
    return f"""
local gap = tonumber(ARGV[3])
if gap > 0 then
  local since = tonumber(ARGV[2]) - tonumber(redis.call('HGET', KEYS[1], '{field}') or 0)
  if since >= 0 and since < gap then return {{'slow_down', gap - since}} end
  redis.call('HSET', KEYS[1], '{field}', ARGV[2])
end
"""


# The claiming phone's own poll (hand-off with desktop confirmation).
# ARGV: claimer digest, now (ms), interval (ms).
CLAIMER_STATUS = (
    """
local c, s = unpack(redis.call('HMGET', KEYS[1], 'c', 's'))
if not s then return false end
if c ~= ARGV[1] then return {'forbidden'} end
"""
    + _slow_down("y")
    + """
return {s, redis.call('PTTL', KEYS[1])}
"""
)

# The claiming phone takes the sign-in the desktop allowed, once.
FINISH = (
    """
local c, s = unpack(redis.call('HMGET', KEYS[1], 'c', 's'))
if c ~= ARGV[1] or s ~= 'g' then return false end
redis.call('HSET', KEYS[1], 's', 'c')
local ok = true
"""
    + READ
)

# Hand-off: anyone holding a scan token could use it; so may they refuse it.
DECLINE = (
    USABLE
    + """
if not ok then return 0 end
redis.call('HSET', KEYS[1], 's', 'x')
return 1
"""
)

# Approve: the first signed-in phone to answer claims the order, for good.
# Its answer is final: approved, denied, or denied for a wrong number.
# ARGV 7..13: claimer digest, decision ('a' or 'n'), whether the number
# typed is this claimer's ('1'/'0'), user, auth digest, seal, when.
DECIDE = (
    USABLE
    + """
local c = redis.call('HGET', KEYS[1], 'c')
if c then return {c == ARGV[7] and 'mine' or 'taken', s} end
if not ok then return {'unusable', f == ARGV[6] and s or ''} end  -- '': as good as gone
local state = ARGV[8]
if state == 'a' then
  local n = redis.call('HGET', KEYS[1], 'n')
  if n and n ~= '' and ARGV[9] ~= '1' then state = 'w' end
end
redis.call('HSET', KEYS[1], 's', state, 'c', ARGV[7], 'd', ARGV[1])
if state == 'a' then
  redis.call('HSET', KEYS[1], 'u', ARGV[10], 'a', ARGV[11], 'z', ARGV[12], 'e', ARGV[13])
end
return {'decided', state}
"""
)

# Approve: the issuing browser takes the sign-in an approval gave it, once
# (ARGV[2] '1'), or only looks at it ('0'). Returns the state it found,
# then the order as it is now.
COLLECT = f"""
local f, b, s = unpack(redis.call('HMGET', KEYS[1], 'f', 'b', 's'))
if not s then return false end
if b ~= ARGV[1] or f ~= 'a' then return {{'forbidden'}} end
if s == 'a' and ARGV[2] == '1' then redis.call('HSET', KEYS[1], 's', 'c') end
local order = redis.call('HMGET', KEYS[1], {", ".join(repr(name) for name in FIELDS)})
table.insert(order, 1, s)
return order
"""

# Approve: the sign-in that was collected was refused after all (the
# account changed since the approval): say so, not "signed in".
REFUSE = """
local b, s = unpack(redis.call('HMGET', KEYS[1], 'b', 's'))
if b ~= ARGV[1] or s ~= 'c' then return 0 end
redis.call('HSET', KEYS[1], 's', 'r')
return 1
"""

# The issuing browser's poll, one round trip. ARGV: binding digest, now
# (ms), the minimum interval between polls (ms).
STATUS = (
    """
local b, s, t, d, n, f, i, v = unpack(
  redis.call('HMGET', KEYS[1], 'b', 's', 't', 'd', 'n', 'f', 'i', 'v'))
if not s then return false end
if b ~= ARGV[1] then return {'forbidden'} end
"""
    + _slow_down("l")
    + """
return {s, t, d or '', redis.call('PTTL', KEYS[1]), n or '', f, i or '', v or ''}
"""
)

# The issuing browser gives up on an order not used yet: pending, scanned,
# approved but not collected, or a phone waiting for the desktop.
CANCEL = """
local b, s = unpack(redis.call('HMGET', KEYS[1], 'b', 's'))
local open = s == 'p' or s == 's' or s == 'a' or s == 'q' or s == 'g'
if b ~= ARGV[1] or not open then return 0 end
redis.call('HSET', KEYS[1], 's', 'x')
return 1
"""

# A rate limit's counter: one more in a fixed window of ARGV[1] seconds that
# starts with the first. Returns the count so far and the seconds the window
# has left. One key, one call: two requests cannot both take the last place.
HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('TTL', KEYS[1])}
"""

# A refused order gives its count back to a limit that did not refuse it.
# DECR keeps the window's TTL; a window that ended meanwhile is left alone.
UNHIT = """
if (tonumber(redis.call('GET', KEYS[1])) or 0) > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""

# A refused order, deleted again.
DROP = """
return redis.call('DEL', KEYS[1])
"""
