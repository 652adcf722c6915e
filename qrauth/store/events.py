"""Waiting screens woken when their order changes: the one pub/sub
connection of this process, and the streams each client may hold open.

Every script that changes an order's state also publishes ``"<key>
<state>"`` on ``<prefix>:events`` (lua/lib/announce.lua), in the same call.
One thread per process listens there on one connection, whatever the
number of screens, and wakes the ones waiting on that key. A woken screen
reads its order again: a message says *that* something changed, the store
says *what*. So a message lost while the connection was down costs nothing:
on every (re)subscription all screens are woken to read again.

A thread, not an asyncio task: it uses the site's own client, so Sentinel,
Cluster and AUTH_QR_CODE_REDIS_CLIENT_FACTORY work as they do everywhere
else, and it serves every event loop of the process (tests run several).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from ..conf import settings
from ..model import OverLimit
from . import scripts
from .client import Connection, default
from .keys import order_key, stream_key

__all__ = ["Subscriber", "Waiter", "close_stream", "events_channel", "open_stream", "subscriber"]

logger = logging.getLogger("qrauth.store.events")

# How long the listening thread blocks on its socket before it looks at
# whether it should stop or start over (a new client): a short wait, as
# an idle process wakes only four times a second for it.
_LISTEN_STEP = 0.25
_BACKOFF_FIRST, _BACKOFF_MOST = 0.1, 2.0
# Silent this long, the connection is asked whether it is still there (a
# PING, answered on it); unanswered this long, it is made again.
PING_EVERY, PONG_WITHIN = 15.0, 10.0


def events_channel() -> str:
    """Where the scripts announce changes (see lua/lib/announce.lua)."""
    return f"{settings.KEY_PREFIX}:events"


class Waiter:
    """One waiting screen, woken from the listening thread. A future and a
    timer per wait, no task: a process waits on thousands every second."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.loop = asyncio.get_running_loop()
        self._woken = False
        self._future: asyncio.Future[bool] | None = None

    def wake(self) -> None:
        """From any thread: the order changed, or may have."""
        try:
            self.loop.call_soon_threadsafe(self._set)
        except RuntimeError:  # its loop is closed: the screen is gone
            pass

    def _set(self) -> None:
        if self._future is not None and not self._future.done():
            self._future.set_result(True)
        else:
            self._woken = True  # not waiting now: the next wait returns at once

    async def wait(self, timeout: float) -> bool:
        """Whether the order changed (or may have) within ``timeout`` s."""
        if self._woken:
            self._woken = False
            return True
        future = self._future = self.loop.create_future()
        timer = self.loop.call_later(timeout, _settle, future, False)
        try:
            return await future
        finally:
            timer.cancel()
            self._future = None


def _settle(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


class Subscriber:
    """This process's one pub/sub connection and the screens it wakes."""

    def __init__(self, connection: Connection = default) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._waiters: dict[str, set[Waiter]] = {}
        self._thread: threading.Thread | None = None
        self._renew = threading.Event()
        self.subscribed = threading.Event()
        self.subscriptions = 0  # how many times it (re)subscribed: for tests

    @contextmanager
    def watch(self, order_id: str) -> Iterator[Waiter]:
        """A waiter on ``order_id`` for as long as the block runs. Register
        first, then read the order: a change in between wakes it."""
        waiter = Waiter(order_key(order_id))
        with self._lock:
            self._waiters.setdefault(waiter.key, set()).add(waiter)
            self._start()
        try:
            yield waiter
        finally:
            with self._lock:
                waiting = self._waiters.get(waiter.key, set())
                waiting.discard(waiter)
                if not waiting:
                    self._waiters.pop(waiter.key, None)

    @property
    def watched(self) -> int:
        with self._lock:
            return sum(len(waiters) for waiters in self._waiters.values())

    def renew(self) -> None:
        """Listen again on a new connection (the client or the prefix changed)."""
        self.subscribed.clear()
        self._renew.set()

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="qrauth-events", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        backoff = _BACKOFF_FIRST
        while True:
            self._renew.clear()
            try:
                self._listen()
                backoff = _BACKOFF_FIRST
            except Exception as exc:  # noqa: BLE001 - whatever broke it, listen again
                if self.subscribed.is_set():
                    logger.warning("qrauth: lost the events connection (%s); reconnecting", exc)
                self.subscribed.clear()
                self._renew.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MOST)

    def _listen(self) -> None:
        pubsub = self._connection.client.pubsub()
        try:
            pubsub.subscribe(events_channel())
            heard, pinged = time.monotonic(), None
            while not self._renew.is_set():
                message = pubsub.get_message(timeout=_LISTEN_STEP)
                now = time.monotonic()
                if message is not None:
                    heard, pinged = now, None
                    self._dispatch(message)
                elif pinged is not None and now - pinged > PONG_WITHIN:
                    # A connection a NAT or a load balancer dropped without
                    # a word reads as silence: ask, and start over unanswered.
                    raise ConnectionError("no answer to a ping")
                elif pinged is None and now - heard > PING_EVERY:
                    pubsub.ping()
                    pinged = now
        finally:
            self.subscribed.clear()
            pubsub.close()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message["type"] == "subscribe":
            # Whatever happened while not listening is unknown: every
            # screen reads its order again.
            self.subscriptions += 1
            self.subscribed.set()
            self._wake(None)
        elif message["type"] == "message":
            data = message["data"]
            key = (data.decode() if isinstance(data, bytes) else data).split(" ", 1)[0]
            self._wake(key)

    def _wake(self, key: str | None) -> None:
        with self._lock:
            if key is None:
                waiters = [waiter for group in self._waiters.values() for waiter in group]
            else:
                waiters = list(self._waiters.get(key, ()))
        for waiter in waiters:
            waiter.wake()


subscriber = Subscriber()
default.on_reset(subscriber.renew)


@receiver(setting_changed)
def _renew_on_prefix_changed(setting: str, **kwargs: Any) -> None:
    if setting == "AUTH_QR_CODE_KEY_PREFIX":
        subscriber.renew()


def open_stream(stream: str, limits: list[tuple[str, int]], until_ms: int, now_ms: int) -> None:
    """Count ``stream`` among the open streams of each of ``limits`` (who,
    at most), until ``until_ms``; OverLimit (and nothing counted) when one
    of them holds its most already. A stream whose process died leaves its
    count at ``until_ms``, the end of its order."""
    opening = scripts.STREAM_OPEN
    calls = [
        (
            opening,
            stream_key(who),
            opening.argv(dict(stream=stream, until_ms=until_ms, now_ms=now_ms, most=most)),
        )
        for who, most in limits
    ]
    waits = [int(wait) for wait in default.run_all(calls)]
    if any(waits):
        close_stream(
            stream, [who for (who, _), wait in zip(limits, waits, strict=True) if not wait]
        )
        raise OverLimit(max(waits) / 1000, "streams")


def close_stream(stream: str, whos: list[str]) -> None:
    """The stream ended: it counts no more for any of ``whos``."""
    if whos:
        closing = scripts.STREAM_CLOSE
        argv = closing.argv({"stream": stream})
        default.run_all([(closing, stream_key(who), argv) for who in whos])
