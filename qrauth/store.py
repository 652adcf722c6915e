"""Orders in Redis: the only module that talks to Redis.

An order is one small hash at ``<prefix>:{<order ref>}``. The braces are a
hash tag, so every script below touches a single hash slot and runs
unchanged on Redis Cluster. The order ref is a keyed hash of the public
order id, so nothing stored here can be turned back into a URL.

Every state transition is one Lua script: two phones racing for one code
cannot both win, because Redis runs a script from start to end alone.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import tokens
from .conf import settings

__all__ = [
    "Order",
    "StoreUnavailable",
    "cancel_order",
    "consume_order",
    "order_status",
    "decline_order",
    "get_redis",
    "issue_order",
    "mint_static_code",
    "order_key",
    "peek_order",
    "ping",
    "record_scan",
]

logger = logging.getLogger(__name__)

# States as stored (one byte each keeps an order small).
PENDING, SCANNED, CONSUMED, CANCELLED = "p", "s", "c", "x"
HANDOFF = "h"
_STATE_NAMES = {
    PENDING: "pending",
    SCANNED: "scanned",
    CONSUMED: "consumed",
    CANCELLED: "cancelled",
}

# Longest device description kept; it is shown, never parsed.
_DEVICE_MAX = 80


class StoreUnavailable(Exception):
    """Redis cannot be reached now; the caller answers 503."""


@dataclass(frozen=True)
class Order:
    id: str = field(repr=False)  # the public id: in URLs, never in logs
    ref: str
    state: str
    user_id: str
    auth_digest: str
    created: int
    device: str
    minted: bool
    issuer: str = field(repr=False)  # the issuing session's key, sealed
    usable: bool = False  # by the token it was read with, at that moment

    @property
    def state_name(self) -> str:
        return _STATE_NAMES.get(self.state, "unknown")

    @property
    def is_open(self) -> bool:
        return self.state in (PENDING, SCANNED)


# Fields, in the order every script returns them.
_FIELDS = ("s", "u", "a", "t", "d", "m", "k")

_ISSUE = """
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

# The binding is compared inside Redis. Both sides are HMAC digests the
# client cannot steer byte by byte, so the comparison's timing leaks nothing.
_MINT = """
local b, u, s = unpack(redis.call('HMGET', KEYS[1], 'b', 'u', 's'))
if b ~= ARGV[1] or u ~= ARGV[2] or (s ~= 'p' and s ~= 's') then return 0 end
redis.call('HSET', KEYS[1], 'm', '1')
return 1
"""

# Whether a token may use the open order. A static code (no elapsed) works
# once its image was minted; an animated frame while it is fresh: within
# FRAME_TOLERANCE seconds of now (one second ahead for clock skew), or later
# when the phone's session vouches that it was fresh at the phone's GET.
# ARGV: device, elapsed ('' for static), now, tolerance, vouched ('1'/'0').
_USABLE = """
local function usable(s, m, t)
  if s ~= 'p' and s ~= 's' then return false end
  if ARGV[2] == '' then return m == '1' end
  if ARGV[5] == '1' then return true end
  local age = tonumber(ARGV[3]) - tonumber(t)
  local elapsed = tonumber(ARGV[2])
  return elapsed <= age + 1 and elapsed >= age - tonumber(ARGV[4])
end
local s, m, t = unpack(redis.call('HMGET', KEYS[1], 's', 'm', 't'))
local ok = usable(s, m, t)
"""

_READ = """
local order = redis.call('HMGET', KEYS[1], 's', 'u', 'a', 't', 'd', 'm', 'k')
table.insert(order, ok and '1' or '0')
return order
"""

_SCAN = (
    _USABLE
    + """
if ok then redis.call('HSET', KEYS[1], 's', 's', 'd', ARGV[1]) end
"""
    + _READ
)

_CONSUME = (
    _USABLE
    + """
if not ok then return false end
redis.call('HSET', KEYS[1], 's', 'c', 'd', ARGV[1])
"""
    + _READ
)

# One round trip for the issuing browser's poll: state, age, device, life left.
_STATUS = """
local b, s, t, d = unpack(redis.call('HMGET', KEYS[1], 'b', 's', 't', 'd'))
if not s then return false end
if b ~= ARGV[1] then return {'forbidden'} end
return {s, t, d, redis.call('PTTL', KEYS[1])}
"""

# Anyone holding a scan token could use it; so may they refuse it.
_DECLINE = (
    _USABLE
    + """
if not ok then return 0 end
redis.call('HSET', KEYS[1], 's', 'x')
return 1
"""
)

_CANCEL = """
local b, s = unpack(redis.call('HMGET', KEYS[1], 'b', 's'))
if b ~= ARGV[1] or (s ~= 'p' and s ~= 's') then return 0 end
redis.call('HSET', KEYS[1], 's', 'x')
return 1
"""


# -- the client ---------------------------------------------------------------

_client_lock = threading.Lock()
_client: Any = None
_scripts: dict[str, Any] = {}


def _build_client() -> Any:
    try:
        return _client_from_settings()
    except (ImportError, TypeError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"qrauth could not build its Redis client ({type(exc).__name__}: {exc}); check "
            "AUTH_QR_CODE_REDIS_URL, AUTH_QR_CODE_REDIS_KWARGS and "
            "AUTH_QR_CODE_REDIS_CLIENT_FACTORY."
        ) from exc


def _client_from_settings() -> Any:
    factory_path = settings.REDIS_CLIENT_FACTORY
    if factory_path:
        return import_string(factory_path)()
    kwargs = dict(settings.REDIS_KWARGS)
    # Fail in about a second rather than hang a worker; one retry on a fresh
    # connection rides over a Redis restart that dropped pooled sockets.
    kwargs.setdefault("socket_timeout", 1.0)
    kwargs.setdefault("socket_connect_timeout", 1.0)
    kwargs.setdefault("retry", Retry(NoBackoff(), 1))
    url = settings.REDIS_URL
    if url:
        return redis.Redis.from_url(url, **kwargs)
    return redis.Redis(**kwargs)


def get_redis() -> Any:
    """The process-wide Redis client (one connection pool per process)."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = _build_client()
    return _client


def _script(name: str, source: str) -> Any:
    script = _scripts.get(name)
    if script is None:
        script = _scripts[name] = get_redis().register_script(source)
    return script


@receiver(setting_changed)
def _reset_client(setting: str, **kwargs: Any) -> None:
    if setting.startswith("AUTH_QR_CODE_REDIS"):
        reset_client()


def reset_client() -> None:
    """Forget the client, so the next call builds one from current settings."""
    global _client
    with _client_lock:
        _client = None
        _scripts.clear()
        _breaker.reset()


# -- failing fast while Redis is down -----------------------------------------


# Whatever goes wrong talking to Redis (unreachable, too slow, out of
# memory, a replica during failover, a cluster without quorum), people get
# a 503 page and the outage is logged once, never a 500 with the scan URL,
# and so a live token, in the error log.
_REDIS_ERRORS = (redis.exceptions.RedisError, redis.exceptions.RedisClusterException)


class _Breaker:
    """After a failure, refuse calls for a while instead of waiting on Redis.

    Waiting screens poll; without this, an outage would tie up every worker
    in socket timeouts. After the back-off one request probes Redis while
    the others still fail fast. Logs once when Redis goes away and once when
    it is back, not once per request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.open_until = 0.0
        self.down = False
        self.failures = 0

    def call(self, operation: Any) -> Any:
        with self._lock:
            now = _clock()
            if now < self.open_until:
                raise StoreUnavailable("redis is down; not retrying yet")
            if self.down:  # this request is the probe; the others wait
                self.open_until = now + settings.REDIS_FAILURE_BACKOFF
            generation = self.failures
        try:
            result = operation()
        except _REDIS_ERRORS as exc:
            self._failed(exc)
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if self.down:
            self._recovered(generation)
        return result

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self.failures += 1
            self.open_until = _clock() + settings.REDIS_FAILURE_BACKOFF
            if self.down:
                return
            self.down = True
        logger.warning(
            "qrauth: Redis is unavailable (%s: %s); answering 503 and retrying "
            "every %s s (AUTH_QR_CODE_REDIS_FAILURE_BACKOFF)",
            type(exc).__name__,
            exc,
            settings.REDIS_FAILURE_BACKOFF,
        )

    def _recovered(self, generation: int) -> None:
        with self._lock:
            # A call that began before the latest failure proves nothing.
            if not self.down or generation != self.failures:
                return
            self.down = False
            self.open_until = 0.0
        logger.warning("qrauth: Redis is reachable again")


def _clock() -> float:
    return time.monotonic()


def now() -> int:
    """Wall-clock whole seconds: order ages and animated frames count in these.
    Every web server reads its own clock; keep them in sync (NTP)."""
    return int(time.time())


_breaker = _Breaker()


def _run(name: str, source: str, order_id: str, *args: Any) -> Any:
    key = order_key(order_id)
    return _breaker.call(lambda: _script(name, source)(keys=[key], args=list(args)))


# -- orders -------------------------------------------------------------------


def order_key(order_id: str) -> str:
    """The Redis key of an order: prefix plus a hash tag of its ref."""
    return f"{settings.KEY_PREFIX}:{{{tokens.order_ref(order_id)}}}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def _order(order_id: str, values: Any) -> Order | None:
    if not values or values[0] is None:
        return None
    state, user_id, auth, created, device, minted, issuer, usable = (
        _text(v) for v in [*values, None][:8]
    )
    return Order(
        id=order_id,
        ref=tokens.order_ref(order_id),
        state=state,
        user_id=user_id,
        auth_digest=auth,
        created=int(created or 0),
        device=device,
        minted=minted == "1",
        issuer=issuer,
        usable=usable == "1",
    )


def issue_order(
    order_id: str, user_id: Any, auth_digest: str, binding_digest: str, issuer: str
) -> None:
    """Store a new pending hand-off order that lives EXPIRATION_TIME seconds.

    ``issuer`` is the issuing browser's session key, sealed (see binding.py).
    """
    fields = {
        "f": HANDOFF,
        "s": PENDING,
        "u": str(user_id),
        "a": auth_digest,
        "b": binding_digest,
        "t": now(),
        "k": issuer,
    }
    flat = [item for pair in fields.items() for item in pair]
    _run("issue", _ISSUE, order_id, settings.EXPIRATION_TIME, *flat)


def mint_static_code(order_id: str, binding_digest: str, user_id: Any) -> bool:
    """Let the static code of an open order sign in; only its own browser may."""
    return bool(_run("mint", _MINT, order_id, binding_digest, str(user_id)))


def _token_args(token: tokens.ScanToken, device: str, vouched: bool = False) -> list[Any]:
    elapsed = "" if token.elapsed is None else token.elapsed
    return [device[:_DEVICE_MAX], elapsed, now(), settings.FRAME_TOLERANCE, int(vouched)]


def record_scan(token: tokens.ScanToken, device: str) -> Order | None:
    """A GET of the scan URL: note the device if the token may use the
    order (``Order.usable``); never moves it past "scanned"."""
    args = _token_args(token, device)
    return _order(token.order_id, _run("scan", _SCAN, token.order_id, *args))


def peek_order(order_id: str) -> Order | None:
    """Read an order without changing it (HEAD requests)."""
    key = order_key(order_id)
    return _order(order_id, _breaker.call(lambda: get_redis().hmget(key, *_FIELDS)))


def consume_order(token: tokens.ScanToken, device: str, vouched: bool = False) -> Order | None:
    """Use the order up; exactly one caller ever gets it back. ``vouched``:
    the phone's session saw this frame fresh at its GET."""
    args = _token_args(token, device, vouched)
    return _order(token.order_id, _run("consume", _CONSUME, token.order_id, *args))


@dataclass(frozen=True)
class Status:
    state: str
    created: int
    device: str
    expires_in: float


def order_status(order_id: str, binding_digest: str) -> Status | None:
    """The issuing browser's view of its order, in one round trip. None when
    the order is gone (expired); raises LookupError for another browser."""
    values = _run("status", _STATUS, order_id, binding_digest)
    if values is None:
        return None
    if _text(values[0]) == "forbidden":
        raise LookupError("not this browser's order")
    state, created, device = (_text(v) for v in values[:3])
    return Status(state, int(created), device, max(int(values[3]), 0) / 1000)


def decline_order(token: tokens.ScanToken, vouched: bool = False) -> bool:
    """The scanner says "this was not me": cancel the order the token may use."""
    args = _token_args(token, "", vouched)
    return bool(_run("decline", _DECLINE, token.order_id, *args))


def cancel_order(order_id: str, binding_digest: str) -> bool:
    """Cancel an open order, if ``binding_digest`` is its issuing browser's."""
    return bool(_run("cancel", _CANCEL, order_id, binding_digest))


def ping() -> None:
    """Raise StoreUnavailable unless Redis answers now."""
    _breaker.call(lambda: get_redis().ping())
