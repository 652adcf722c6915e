"""Orders in Redis: the only module that talks to Redis.

An order is one small hash at ``<prefix>:{<order ref>}``. The braces are a
hash tag, so every script touches a single hash slot and runs unchanged on
Redis Cluster. The order ref is a keyed hash of the public order id, so
nothing stored here can be turned back into a URL.

Every state transition is one Lua script (qrauth/scripts.py): two phones
racing for one code cannot both win, because Redis runs a script from
start to end alone.
"""

from __future__ import annotations

import hmac
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

from . import scripts, tokens
from .conf import settings

__all__ = [
    "APPROVE",
    "HANDOFF",
    "ask_desktop",
    "claimer_status",
    "desktop_decides",
    "finish_order",
    "Collected",
    "Decision",
    "LIMIT_NAMES",
    "Limit",
    "LimitCounters",
    "Order",
    "Overview",
    "OverLimit",
    "Status",
    "StoreUnavailable",
    "cancel_order",
    "collect_order",
    "consume_order",
    "decide_order",
    "decline_order",
    "get_redis",
    "hit",
    "Issue",
    "issue_approve_order",
    "issue_order",
    "picture_created",
    "order_key",
    "order_status",
    "overview",
    "peek_order",
    "ping",
    "record_scan",
    "refuse_order",
]

logger = logging.getLogger(__name__)

# Flows and states as stored (one byte each keeps an order small).
HANDOFF, APPROVE = "h", "a"
PENDING, SCANNED, APPROVED, CONSUMED = "p", "s", "a", "c"
CANCELLED, DENIED, WRONG_NUMBER, REFUSED = "x", "n", "w", "r"
ASKING_DESKTOP, ALLOWED = "q", "g"
_STATE_NAMES = {
    PENDING: "pending",
    SCANNED: "scanned",
    APPROVED: "approved",
    CONSUMED: "consumed",
    CANCELLED: "cancelled",
    DENIED: "denied",
    WRONG_NUMBER: "wrong_number",
    REFUSED: "refused",
    ASKING_DESKTOP: "asking_desktop",
    ALLOWED: "allowed",
}

# Longest device description kept; it is shown, never parsed.
_DEVICE_MAX = 80


class StoreUnavailable(Exception):
    """Redis cannot be reached now; the caller answers 503."""


class OverLimit(Exception):
    """A rate limit said no; the caller answers 429. ``retry_after``: the
    seconds until the same request would be let through."""

    def __init__(self, retry_after: float, limit: str = "") -> None:
        super().__init__(f"over the limit {limit or 'of polls'}; retry in {retry_after} s")
        self.retry_after = retry_after
        self.limit = limit


@dataclass(frozen=True)
class Limit:
    """At most ``count`` requests of one ``name`` by one ``who`` (a browser
    session's id, a user id, a network, the site) in a fixed window of
    ``window`` seconds."""

    name: str
    who: str = field(repr=False)  # never logged: ``shown`` is what a log may say
    count: int
    window: int
    shown: str = ""  # what a log line may say of ``who`` (an address, a user id)


@dataclass(frozen=True)
class Order:
    id: str = field(repr=False)  # the public id: in URLs, never in logs
    ref: str
    flow: str
    state: str
    user_id: str
    auth_digest: str
    created: int
    device: str
    minted: bool
    issuer: str = field(repr=False)  # hand-off: the issuing session's key, sealed
    requester: str = ""  # approve: the browser that asks to be signed in
    requester_ip: str = ""
    number: str = ""  # approve: "1" with number matching (see tokens.match_number)
    claimer: str = field(default="", repr=False)
    viewer: str = field(default="", repr=False)  # approve: the last signed-in scanner
    seal: str = field(default="", repr=False)
    sealed_at: int = 0  # when the step the seal allows was taken
    usable: bool = False  # by the token it was read with, at that moment

    @property
    def state_name(self) -> str:
        return _STATE_NAMES.get(self.state, "unknown")

    @property
    def is_open(self) -> bool:
        return self.state in (PENDING, SCANNED)


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


def _script(source: str) -> Any:
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = get_redis().register_script(source)
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


def _run(source: str, order_id: str, *args: Any) -> Any:
    key = order_key(order_id)
    return _breaker.call(lambda: _script(source)(keys=[key], args=list(args)))


Call = tuple[str, str, list[Any]]  # a script's source, its one key, its arguments


def _run_all(calls: list[Call]) -> list[Any]:
    """Run scripts on keys of different hash slots, in one round trip on a
    single Redis (a pipeline, not a transaction: each script is atomic on
    its own). A cluster client gets one call each."""
    return _breaker.call(lambda: _pipelined(get_redis(), calls))


def _pipelined(client: Any, calls: list[Call]) -> list[Any]:
    if not isinstance(client, redis.Redis):
        return [_script(source)(keys=[key], args=args) for source, key, args in calls]

    pipe = client.pipeline(transaction=False)
    for source, key, args in calls:
        pipe.evalsha(_script(source).sha, 1, key, *args)
    results = pipe.execute(raise_on_error=False)
    for index, result in enumerate(results):
        if isinstance(result, redis.exceptions.NoScriptError):  # a restarted Redis
            source, key, args = calls[index]
            results[index] = _script(source)(keys=[key], args=args)
        elif isinstance(result, Exception):
            raise result
    return results


def now_ms() -> int:
    """Wall-clock milliseconds, for the minimum interval between polls."""
    return int(time.time() * 1000)


# -- rate limits --------------------------------------------------------------


def limit_key(limit: Limit) -> str:
    """A limit's counter: keyed by a hash, so Redis holds no session key or IP."""
    who = tokens.keyed_hash(f"limit.{limit.name}", limit.who)
    return f"{settings.KEY_PREFIX}:limit:{limit.name}:{{{who}}}"


def _hit_call(limit: Limit) -> Call:
    return (scripts.HIT, limit_key(limit), [limit.window])


def _check_hits(limits: list[Limit], counts: list[Any]) -> None:
    """Raise OverLimit for the limit whose window ends last, if any is full."""
    over = []
    for limit, (count, seconds_left) in zip(limits, counts, strict=True):
        if int(count) <= limit.count:
            continue
        if int(count) == limit.count + 1:  # once a window, not once a request
            logger.warning(
                "qrauth: rate limit %s reached%s; refusing for %s s",
                limit.name,
                f" by {limit.shown}" if limit.shown else "",
                seconds_left,
            )
        over.append((max(int(seconds_left), 1), limit.name))
    if over:
        raise OverLimit(*max(over))


def hit(limit: Limit) -> None:
    """Count one more of ``limit``; raise OverLimit when that is one too many."""
    _check_hits([limit], _run_all([_hit_call(limit)]))


# -- orders -------------------------------------------------------------------


def order_key(order_id: str) -> str:
    """The Redis key of an order: prefix plus a hash tag of its ref."""
    return f"{settings.KEY_PREFIX}:{{{tokens.order_ref(order_id)}}}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def _order(order_id: str, values: Any) -> Order | None:
    if not values or values[1] is None:  # no state: no such order
        return None
    fields = dict(zip((*scripts.FIELDS, "ok"), (_text(v) for v in values), strict=False))
    return Order(
        id=order_id,
        ref=tokens.order_ref(order_id),
        flow=fields["f"],
        state=fields["s"],
        user_id=fields["u"],
        auth_digest=fields["a"],
        created=int(fields["t"] or 0),
        device=fields["d"],
        minted=fields["m"] == "1",
        issuer=fields["k"],
        requester=fields["r"],
        requester_ip=fields["i"],
        number=fields["n"],
        claimer=fields["c"],
        viewer=fields["v"],
        seal=fields["z"],
        sealed_at=int(fields["e"] or 0),
        usable=fields.get("ok") == "1",
    )


@dataclass(frozen=True)
class Issue:
    """What comes with storing a new order: the browser's previous order of
    the flow to cancel, (order id, binding digest), and the limits to count."""

    replaces: tuple[str, str] | None = None
    limits: list[Limit] = field(default_factory=list)


def _issue(order_id: str, fields: dict[str, Any], issue: Issue) -> None:
    """All in one round trip: cancel the previous order, count the limits,
    store the order. Over a limit, the order is deleted again and its count
    given back to every limit that did not refuse it (a second round trip,
    only then), and OverLimit raised: a refused request is no order, and a
    flood refused to one client must not use up a limit it shares with
    others (the site's)."""
    flat = [item for pair in fields.items() for item in pair]
    calls = [_hit_call(limit) for limit in issue.limits]
    if issue.replaces:
        previous, previous_binding = issue.replaces
        calls.append((scripts.CANCEL, order_key(previous), [previous_binding]))
    calls.append((scripts.ISSUE, order_key(order_id), [settings.EXPIRATION_TIME, *flat]))
    counts = _run_all(calls)[: len(issue.limits)]
    try:
        _check_hits(issue.limits, counts)
    except OverLimit:
        _withdraw(order_id, issue.limits, counts)
        raise


def _withdraw(order_id: str, limits: list[Limit], counts: list[Any]) -> None:
    """Delete a refused order; give its count back to the limits it was under."""
    under = [limit for limit, (n, _) in zip(limits, counts, strict=True) if int(n) <= limit.count]
    calls = [(scripts.UNHIT, limit_key(limit), []) for limit in under]
    _run_all([*calls, (scripts.DROP, order_key(order_id), [])])


def issue_order(
    order_id: str,
    user_id: Any,
    auth_digest: str,
    binding_digest: str,
    issuer: str,
    issue: Issue = Issue(),
) -> None:
    """Store a new pending hand-off order that lives EXPIRATION_TIME seconds.

    ``issuer`` is the issuing browser's session key, sealed (see binding.py).
    """
    created = now()
    fields = {"f": HANDOFF, "s": PENDING, "u": str(user_id), "a": auth_digest, "t": created}
    seal = tokens.order_seal(order_id, HANDOFF, str(user_id), auth_digest, "issued", created)
    _issue(order_id, {**fields, "b": binding_digest, "k": issuer, "z": seal, "e": created}, issue)


def issue_approve_order(
    order_id: str,
    binding_digest: str,
    requester: str,
    requester_ip: str,
    number_matching: bool,
    issue: Issue = Issue(),
) -> None:
    """Store a new pending approve order: an anonymous browser, described by
    ``requester`` and ``requester_ip``, asks a signed-in phone to sign it in.
    With ``number_matching`` the phone must type the number the requesting
    screen shows once that phone scanned (tokens.match_number)."""
    fields = {"f": APPROVE, "s": PENDING, "b": binding_digest, "t": now()}
    requester = requester[:_DEVICE_MAX]
    number = "1" if number_matching else ""
    _issue(order_id, {**fields, "r": requester, "i": requester_ip, "n": number}, issue)


def picture_created(order_id: str, binding_digest: str, user_id: Any = "") -> int | None:
    """When the open order a plain QR image is asked for was created, or
    None: only its own browser may ask (for a hand-off order, only while
    signed in as its user). A hand-off's static code works from then on."""
    created = _run(scripts.PICTURE, order_id, binding_digest, str(user_id))
    return None if created is None else int(_text(created))


def _token_args(
    token: tokens.ScanToken, device: str, vouched: bool = False, flow: str = HANDOFF
) -> list[Any]:
    elapsed = "" if token.elapsed is None else token.elapsed
    return [device[:_DEVICE_MAX], elapsed, now(), settings.FRAME_TOLERANCE, int(vouched), flow]


def record_scan(
    token: tokens.ScanToken,
    device: str,
    vouched: bool = False,
    flow: str = HANDOFF,
    viewer: str = "",
) -> Order | None:
    """A GET of the scan URL: note the device if the token may use the
    order (``Order.usable``); never moves it past "scanned". ``viewer``:
    the digest of the signed-in phone session that looks at an approve
    order, whose number the requesting screen then shows."""
    args = [*_token_args(token, device, vouched, flow), viewer]
    return _order(token.order_id, _run(scripts.SCAN, token.order_id, *args))


def peek_order(order_id: str) -> Order | None:
    """Read an order without changing it (HEAD requests)."""
    key = order_key(order_id)
    return _order(order_id, _breaker.call(lambda: get_redis().hmget(key, *scripts.FIELDS)))


def consume_order(token: tokens.ScanToken, device: str, vouched: bool = False) -> Order | None:
    """Use a hand-off order up; exactly one caller ever gets it back.
    ``vouched``: the phone's session saw this frame fresh at its GET."""
    args = _token_args(token, device, vouched)
    return _order(token.order_id, _run(scripts.CONSUME, token.order_id, *args))


def ask_desktop(
    token: tokens.ScanToken, device: str, claimer: str, address: str, vouched: bool = False
) -> Order | None:
    """Hand-off with desktop confirmation: the phone's Continue claims the
    order for its session and asks the issuing desktop to allow it."""
    args = [*_token_args(token, device, vouched), claimer, address[:64]]
    return _order(token.order_id, _run(scripts.ASK_DESKTOP, token.order_id, *args))


def desktop_decides(order_id: str, binding_digest: str, allow: bool, user: tuple[Any, str]) -> bool:
    """The issuing desktop, signed in as ``user`` (user id, auth digest),
    allows or denies the phone that asked. An allow seals the order for
    that phone's session, read first (two round trips: the script refuses
    if another phone's claim came in between), and for the desktop's own
    user, whatever Redis says."""
    order = peek_order(order_id)
    if order is None or order.state != ASKING_DESKTOP:
        return False
    user_id, auth = str(user[0]), user[1]
    issued = tokens.order_seal(order_id, HANDOFF, user_id, auth, "issued", order.sealed_at)
    if allow and not hmac.compare_digest(issued.encode(), order.seal.encode()):
        return False  # not this desktop's order as it was issued: edited in Redis
    state = ALLOWED if allow else DENIED
    allows = f"allowed:{order.claimer}"
    seal = tokens.order_seal(order_id, HANDOFF, user_id, auth, allows, order.sealed_at)
    args = [binding_digest, state, order.claimer, seal]
    return bool(_run(scripts.DESKTOP_DECIDE, order_id, *args))


def _poll(source: str, order_id: str, digest: str) -> Any:
    """Run a status script: None when the order is gone; LookupError when
    ``digest`` is not the poller's it wants; OverLimit when polled too soon."""
    interval = round(settings.STATUS_INTERVAL * 1000)
    values = _run(source, order_id, digest, now_ms(), interval)
    if values is None:
        return None
    answer = _text(values[0])
    if answer == "forbidden":
        raise LookupError("not this browser's order")
    if answer == "slow_down":
        raise OverLimit(int(values[1]) / 1000)
    return values


def claimer_status(order_id: str, claimer: str) -> tuple[str, float] | None:
    """(state, seconds left) for the phone that claimed the order; None when
    gone; raises LookupError for any other session, OverLimit for a poll
    sooner than STATUS_INTERVAL after the last."""
    values = _poll(scripts.CLAIMER_STATUS, order_id, claimer)
    if values is None:
        return None
    return _text(values[0]), max(int(values[1]), 0) / 1000


def finish_order(order_id: str, claimer: str) -> Order | None:
    """The claiming phone uses up the order its desktop allowed, exactly once."""
    return _order(order_id, _run(scripts.FINISH, order_id, claimer))


def decline_order(token: tokens.ScanToken, vouched: bool = False) -> bool:
    """The scanner says "this was not me": cancel the order the token may use."""
    args = _token_args(token, "", vouched)
    return bool(_run(scripts.DECLINE, token.order_id, *args))


@dataclass(frozen=True)
class Decision:
    """What became of a phone's answer to an approve order.

    ``outcome``: "decided" (this answer claimed the order: ``state`` is
    APPROVED, DENIED or WRONG_NUMBER), "mine" (this session had already
    answered), "taken" (another session had), or "unusable" (gone,
    cancelled, stale, or not an approve order)."""

    outcome: str
    state: str


def decide_order(
    token: tokens.ScanToken,
    claimer: str,
    approve: bool,
    number: str,
    user: tuple[Any, str],
    device: str,
    vouched: bool = False,
) -> Decision:
    """A signed-in phone approves or denies an approve order, and so claims
    it: the first answer is final, and no other session can answer after it.
    ``number`` is what the phone typed: it must be this session's own
    (tokens.match_number), else the answer is "wrong number".
    ``user`` is (user id, auth digest) of the phone's user."""
    args = _token_args(token, device, vouched, APPROVE)
    decision = APPROVED if approve else DENIED
    expected = tokens.match_number(token.order_id, claimer)
    matches = hmac.compare_digest(number.encode(), expected.encode())
    user_id, auth, decided = str(user[0]), user[1], now()
    allows = f"approved:{claimer}"
    seal = tokens.order_seal(token.order_id, APPROVE, user_id, auth, allows, decided)
    args += [claimer, decision, int(matches), user_id, auth, seal, decided]
    outcome, state = (_text(v) for v in _run(scripts.DECIDE, token.order_id, *args))
    return Decision(outcome, state)


@dataclass(frozen=True)
class Collected:
    """An approve order as its browser found it when it came to sign in:
    ``found`` is the state it was in; ``signed_in`` says it was approved,
    and that this call used it up."""

    found: str
    order: Order

    @property
    def signed_in(self) -> bool:
        return self.found == APPROVED


def collect_order(order_id: str, binding_digest: str, take: bool = True) -> Collected | None:
    """The issuing browser takes the approved sign-in, exactly once (or,
    with ``take`` False, only looks at it). None when the order is gone;
    raises LookupError for another browser."""
    values = _run(scripts.COLLECT, order_id, binding_digest, int(take))
    if values is None:
        return None
    if _text(values[0]) == "forbidden":
        raise LookupError("not this browser's order")
    return Collected(_text(values[0]), _order(order_id, values[1:]))


def refuse_order(order_id: str, binding_digest: str) -> bool:
    """Mark a collected approve order as refused: the account may not sign
    in after all (its password changed, it was deactivated, the policy)."""
    return bool(_run(scripts.REFUSE, order_id, binding_digest))


@dataclass(frozen=True)
class Status:
    state: str
    created: int
    device: str
    expires_in: float
    number: str = ""  # approve: "1" with number matching
    flow: str = HANDOFF
    address: str = ""
    viewer: str = ""  # approve: the last signed-in phone session that scanned


def order_status(order_id: str, binding_digest: str) -> Status | None:
    """The issuing browser's view of its order, in one round trip. None when
    the order is gone (expired); raises LookupError for another browser,
    OverLimit for a poll sooner than STATUS_INTERVAL after the last."""
    values = _poll(scripts.STATUS, order_id, binding_digest)
    if values is None:
        return None
    state, created, device, pttl, number, flow, address, viewer = (_text(v) for v in values)
    expires_in = max(int(pttl), 0) / 1000
    return Status(state, int(created), device, expires_in, number, flow, address, viewer)


def cancel_order(order_id: str, binding_digest: str) -> bool:
    """Cancel an open order, if ``binding_digest`` is its issuing browser's."""
    return bool(_run(scripts.CANCEL, order_id, binding_digest))


def ping() -> None:
    """Raise StoreUnavailable unless Redis answers now."""
    _breaker.call(lambda: get_redis().ping())


# -- an overview, for the qrauth_status management command ------------------

_FLOW_NAMES = {HANDOFF: "handoff", APPROVE: "approve"}
# The rate limits of limits.py, by the name in their counters' keys; each
# is configured by the setting of the same name in capitals.
LIMIT_NAMES = (
    "orders_per_session",
    "orders_per_user",
    "approve_orders_per_ip",
    "scan_failures_per_ip",
    "approve_orders_per_site",
)


@dataclass(frozen=True)
class LimitCounters:
    """The counters of one rate limit now in Redis: how many windows are
    running (one per session, user or network), and how many of them are
    at or over the configured count. ``rate`` is that (count, seconds), or
    None when the limit is off."""

    name: str
    counters: int
    at_limit: int
    rate: tuple[int, int] | None


@dataclass(frozen=True)
class Overview:
    """What Redis holds for qrauth, in counts only (no key, ref or value).

    ``servers``: (node, redis_version) for each server asked; the node is
    "host:port" on Redis Cluster (each master) and "" for a single Redis;
    the version is "" where INFO is refused (ACLs, renamed commands).
    ``orders``: (flow name, state name, how many), flows then states in
    the order of _FLOW_NAMES and _STATE_NAMES. ``open_orders``: those
    pending or scanned. ``limits``: every known limit, then any other
    found in Redis."""

    cluster: bool
    servers: tuple[tuple[str, str], ...]
    orders: tuple[tuple[str, str, int], ...]
    open_orders: int
    limits: tuple[LimitCounters, ...]

    @property
    def total_orders(self) -> int:
        return sum(count for _, _, count in self.orders)

    @property
    def versions(self) -> tuple[str, ...]:
        """The distinct server versions known, lowest first."""
        known = {version for _, version in self.servers if version}
        return tuple(sorted(known, key=_version_key))


def _version_key(version: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in version.split("."))


def overview(count: int = 1000) -> Overview:
    """Count qrauth's keys: the orders by flow and state, and the rate-limit
    counters; and ask each server its version.

    Walks the keyspace with SCAN (on Redis Cluster, every master), never
    KEYS, so a large Redis is not blocked; ``count`` is SCAN's COUNT hint
    and how many keys are read per pipelined round trip. Orders and
    counters may expire while it runs: the counts are a snapshot, not a
    transaction. Raises StoreUnavailable when Redis cannot be asked.
    """
    return _breaker.call(lambda: _overview(get_redis(), max(int(count), 1)))


def _overview(client: Any, count: int) -> Overview:
    cluster = isinstance(client, redis.cluster.RedisCluster)
    prefix = _glob_escape(settings.KEY_PREFIX)
    orders = _count_orders(client, f"{prefix}:{{*", count)
    counters = _count_limits(client, f"{prefix}:limit:*", count)
    open_orders = sum(n for (_, state), n in orders.items() if state in (PENDING, SCANNED))
    return Overview(
        cluster=cluster,
        servers=_server_versions(client, cluster),
        orders=_named_orders(orders),
        open_orders=open_orders,
        limits=_limit_counters(counters),
    )


def _glob_escape(text: str) -> str:
    """``text`` as a literal in a SCAN MATCH pattern (a key prefix may hold * ? [ ])."""
    return "".join(f"\\{char}" if char in "\\*?[]" else char for char in text)


def _server_versions(client: Any, cluster: bool) -> tuple[tuple[str, str], ...]:
    if not cluster:
        return (("", _redis_version(lambda: client.info("server"))),)
    nodes = sorted(client.get_primaries(), key=lambda node: node.name)
    return tuple(
        (node.name, _redis_version(lambda node=node: client.info("server", target_nodes=node)))
        for node in nodes
    )


def _redis_version(info: Any) -> str:
    try:
        return _text(info().get("redis_version"))
    except redis.exceptions.ResponseError:  # INFO refused or unknown (fakeredis): no version
        return ""


def _batches(client: Any, match: str, count: int) -> Any:
    """The keys matching ``match``, by SCAN, each once, in lists of ``count``."""
    seen: set[Any] = set()  # SCAN may return a key more than once
    batch: list[Any] = []
    for key in client.scan_iter(match=match, count=count):
        if key in seen:
            continue
        seen.add(key)
        batch.append(key)
        if len(batch) >= count:
            yield batch
            batch = []
    if batch:
        yield batch


def _read_all(client: Any, keys: list[Any], read: Any) -> list[Any]:
    """``read(pipe, key)`` for each key in one pipelined round trip (per node on
    a cluster); a key of another type (WRONGTYPE) reads as None."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        read(pipe, key)
    results = pipe.execute(raise_on_error=False)
    for index, result in enumerate(results):
        if isinstance(result, redis.exceptions.ResponseError):
            results[index] = None  # not one of ours after all
        elif isinstance(result, Exception):
            raise result
    return results


def _count_orders(client: Any, match: str, count: int) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for keys in _batches(client, match, count):
        for values in _read_all(client, keys, lambda pipe, key: pipe.hmget(key, "f", "s")):
            if not values or values[1] is None:  # expired meanwhile, or not an order
                continue
            flow_state = (_text(values[0]), _text(values[1]))
            found[flow_state] = found.get(flow_state, 0) + 1
    return found


def _named_orders(found: dict[tuple[str, str], int]) -> tuple[tuple[str, str, int], ...]:
    flows, states = list(_FLOW_NAMES), list(_STATE_NAMES)

    def order(item: tuple[tuple[str, str], int]) -> tuple[int, int, str, str]:
        (flow, state), _ = item
        flow_rank = flows.index(flow) if flow in flows else len(flows)
        state_rank = states.index(state) if state in states else len(states)
        return flow_rank, state_rank, flow, state

    return tuple(
        (_FLOW_NAMES.get(flow, "unknown"), _STATE_NAMES.get(state, "unknown"), n)
        for (flow, state), n in sorted(found.items(), key=order)
    )


def _count_limits(client: Any, match: str, count: int) -> dict[str, list[int]]:
    """The values of the rate-limit counters (<prefix>:limit:<name>:{<hash>}), by name."""
    start = f"{settings.KEY_PREFIX}:limit:"
    found: dict[str, list[int]] = {}
    for keys in _batches(client, match, count):
        values = _read_all(client, keys, lambda pipe, key: pipe.get(key))
        for key, value in zip(keys, values, strict=True):
            name, tagged, _ = _text(key)[len(start) :].partition(":{")
            if not tagged or value is None:  # not a counter, or expired meanwhile
                continue
            try:
                hits = int(_text(value))
            except ValueError:  # not a counter of ours
                continue
            found.setdefault(name, []).append(hits)
    return found


def _limit_counters(found: dict[str, list[int]]) -> tuple[LimitCounters, ...]:
    names = [*LIMIT_NAMES, *sorted(set(found) - set(LIMIT_NAMES))]
    limits = []
    for name in names:
        rate = getattr(settings, name.upper()) if name in LIMIT_NAMES else None
        rate = tuple(rate) if rate is not None else None
        values = found.get(name, [])
        at_limit = sum(1 for value in values if value >= rate[0]) if rate else 0
        limits.append(LimitCounters(name, len(values), at_limit, rate))
    return tuple(limits)
