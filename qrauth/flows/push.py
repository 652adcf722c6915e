"""Push: a waiting screen hears of its order as it changes, over an event
stream, instead of asking once a second (AUTH_QR_CODE_PUSH).

A stream is opened once (``open_code_watch``, ``open_wait_watch``: whose
order, within the stream limits), then ``follow`` yields what the screen
shows: the order now, each change as the store announces it (one
subscriber connection per process, qrauth/store/events.py), a fresh frame
every second while the code is on the screen (made here, with no Redis
round trip), None as a heartbeat, and ``UNAVAILABLE`` while Redis is away.
Every change is read from the store, never guessed from a message.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import django
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest

from .. import clock, issuers, limits, store, tokens
from ..conf import settings
from ..model import StoreUnavailable
from . import codes, confirmation

__all__ = [
    "HEARTBEAT",
    "PERIOD",
    "UNAVAILABLE",
    "Watch",
    "follow",
    "is_final",
    "ticked",
    "open_code_watch",
    "open_wait_watch",
    "served",
    "wanted",
]

logger = logging.getLogger("qrauth.flows")

PERIOD = 1.0  # seconds between frames, as the polling page draws them
HEARTBEAT = 5.0  # seconds of silence before a heartbeat: page.js's watchdog hears it
UNAVAILABLE = object()  # what follow() yields while Redis cannot be read

# The store's reads are blocking calls, one short round trip each; a few
# threads serve every stream of the process (a woken stream reads once).
_READERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qrauth-push")


def wanted(request: HttpRequest) -> bool:
    """Whether the page of ``request`` listens to a stream: AUTH_QR_CODE_PUSH
    "on"; "auto" only when the request came through an ASGI server (under
    WSGI an open stream would hold a worker for minutes: the page polls),
    on Django 5.0 or later (see ``served``)."""
    mode = settings.PUSH
    if mode == "auto":
        return isinstance(request, ASGIRequest) and _NOTICES_DISCONNECTS
    return mode == "on"


def served(request: HttpRequest) -> bool:
    """Whether a stream is served to ``request``: only through an ASGI
    server (under WSGI Django sends an async stream only once it ended,
    holding a worker meanwhile: anyone with a code could hold them all),
    and not while AUTH_QR_CODE_PUSH is "off". "on" names the stream on
    pages served under WSGI too, for a site that routes the streams to an
    ASGI process."""
    return settings.PUSH != "off" and isinstance(request, ASGIRequest)


# Django notices a browser that went away from a stream since 5.0; before,
# a stream would run on to its order's end for a closed tab, counted.
_NOTICES_DISCONNECTS = django.VERSION >= (5, 0)


@dataclass
class Watch:
    """One stream's order: ``read`` it from the store (blocking, one round
    trip), ``tick`` a snapshot into the one of now (a fresh frame; None:
    nothing to redraw), how many seconds it ``lasts`` from a snapshot, and
    ``close`` when the stream ends (it counts no more against the limits)."""

    order_id: str
    read: Callable[[], Any]
    lasts: Callable[[Any], float]
    tick: Callable[[Any], Any] = lambda snapshot: None
    close: Callable[[], None] = lambda: None
    _closed: bool = field(default=False, repr=False)

    def release(self) -> None:
        """Uncount the stream, once; Redis away, it stops counting at its
        order's end anyway."""
        if self._closed:
            return
        self._closed = True
        try:
            self.close()
        except StoreUnavailable:
            logger.info("qrauth: an ended stream stays counted until its order ends")


def _stream_id() -> str:
    return tokens.new_secret()


def _opened(request: HttpRequest, holder: str) -> Callable[[], None]:
    """Count a new stream against its session's (``holder``) and its
    network's limits (OverLimit when either is full); what uncounts it."""
    held = limits.stream_limits(request, holder)
    stream = _stream_id()
    now_ms = clock.now_ms()
    until_ms = now_ms + settings.EXPIRATION_TIME * 1000
    store.open_stream(stream, held, until_ms, now_ms)
    whos = [who for who, _ in held]
    return lambda: store.close_stream(stream, whos)


def open_code_watch(request: HttpRequest, auth_code: str) -> Watch:
    """The issuing browser's stream of its order ``auth_code`` (either flow):
    404 for anyone else, as its status poll."""
    found = issuers.find_order(request, auth_code)
    if found is None:
        raise Http404("no such code")
    flow, order_id, binding = found
    close = _opened(request, issuers.session_holder(request) or binding)
    return Watch(
        order_id=order_id,
        read=lambda: codes.order_status(flow, order_id, binding, paced=False),
        lasts=lambda status: status.expires_in,
        tick=lambda status: codes.refreshed(status, order_id),
        close=close,
    )


def open_wait_watch(request: HttpRequest, auth_code: str) -> Watch:
    """The stream of the phone that waits for its desktop's Allow (hand-off
    with desktop confirmation): 404 for any session but the claimer's."""
    order_id, claimer = confirmation.claimed_by(request, auth_code)
    confirmation.claimed_status(order_id, claimer)  # 404 unless this session's claim
    close = _opened(request, claimer)
    return Watch(
        order_id=order_id,
        read=lambda: confirmation.claimed_status(order_id, claimer),
        lasts=lambda found: found[1],
        close=close,
    )


async def _read(watch: Watch) -> Any:
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_READERS, watch.read)
    except StoreUnavailable:
        return UNAVAILABLE


async def follow(watch: Watch) -> AsyncIterator[Any]:
    """What the screen shows, as it changes (see the module's docstring),
    until the caller stops; Http404 once the order is no longer this
    browser's. Each stream ticks at its own point in the wall-clock second
    (frames change on whole seconds), so that a server's thousands of
    streams do not all wake at once, and each tick finds a new frame."""
    loop = asyncio.get_running_loop()
    ticker = _Ticker(loop)
    with store.subscriber.watch(watch.order_id) as waiter:
        snapshot = await _read(watch)
        yield snapshot
        said = loop.time()
        ends = _ends(loop, watch, snapshot)
        tick_at = ticker.next() if _ticks(snapshot) else math.inf
        while True:
            changed = await waiter.wait(max(min(tick_at, ends, said + HEARTBEAT) - loop.time(), 0))
            # A timer may fire a little early (uvloop rounds to whole ms):
            # what is due within a moment is due now.
            now = loop.time() + _EARLY
            if changed or now >= ends:
                read = await _read(watch)
                ends = _ends(loop, watch, read)
                if _same(read, snapshot):
                    continue  # woken for nothing new (a resubscription)
                snapshot = read
                tick_at = ticker.next() if _ticks(snapshot) else math.inf
            elif now >= tick_at:
                tick_at = ticker.next()
                fresh = watch.tick(snapshot)
                if fresh is None:
                    continue
                snapshot = fresh
            elif now >= said + HEARTBEAT:
                yield None  # a heartbeat
                said = loop.time()
                continue
            else:
                continue  # woke early: wait on
            yield snapshot
            said = loop.time()


_EARLY = 0.002  # seconds


class _Ticker:
    """When a stream's next frame is due: once a second, at the stream's own
    point of the wall-clock second, well inside it (frames change on whole
    seconds: a tick at .00 or .99 could find the frame it sent before)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._phase = PERIOD * random.uniform(0.05, 0.95)
        self._wall_minus_loop = time.time() - loop.time()

    def next(self) -> float:
        now = self._loop.time()
        wall = now + self._wall_minus_loop
        return now + PERIOD - ((wall - self._phase) % PERIOD)


def _same(read: Any, shown: Any) -> bool:
    """Whether what was read says nothing new beside what the screen shows:
    the time left goes down by itself, and the frame moves on each tick."""
    if isinstance(read, codes.CodeStatus) and isinstance(shown, codes.CodeStatus):
        return replace(read, expires_in=shown.expires_in, frame=shown.frame) == shown
    if isinstance(read, tuple) and isinstance(shown, tuple):
        return read[0] == shown[0]  # (state, seconds left) of the waiting phone
    return read is shown or read == shown


def _ticks(snapshot: Any) -> bool:
    return isinstance(snapshot, codes.CodeStatus) and snapshot.frame is not None


def _ends(loop: asyncio.AbstractEventLoop, watch: Watch, snapshot: Any) -> float:
    """When to read the order again unwoken: at its expiry (it is gone
    then), or, while Redis is away, after the back-off."""
    if snapshot is UNAVAILABLE:
        return loop.time() + settings.REDIS_FAILURE_BACKOFF
    return loop.time() + max(watch.lasts(snapshot), 0) + 0.25


def ticked(before: Any, now: Any) -> bool:
    """Whether ``now`` is ``before`` with only a new frame (and less time
    left): what a tick makes. Its payload is the one before with the
    frame swapped, not made again (the stream's work each second)."""
    if not isinstance(before, codes.CodeStatus) or not isinstance(now, codes.CodeStatus):
        return False
    if before.frame is None or now.frame is None:
        return False
    return replace(now, frame=before.frame, expires_in=before.expires_in) == before


def is_final(payload: dict[str, Any]) -> bool:
    """Whether a status payload ends the stream: the page stops there too."""
    return payload.get("state") != "pending" and payload.get("hint") != "unavailable"
