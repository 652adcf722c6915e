"""Failing fast while Redis is down: a circuit breaker.

Whatever goes wrong talking to Redis (unreachable, too slow, out of memory,
a replica during failover, a cluster without quorum), people get a 503 page
and the outage is logged once, never a 500 with the scan URL, and so a live
token, in the error log.

The outage is logged on ``qrauth.store.availability``: a caller that says
so itself (``qrauth_status``) quiets that logger, by name.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import redis

from .. import clock
from ..conf import settings
from ..model import StoreUnavailable

__all__ = ["REDIS_ERRORS", "CircuitBreaker"]

REDIS_ERRORS = (redis.exceptions.RedisError, redis.exceptions.RedisClusterException)

T = TypeVar("T")


class CircuitBreaker:
    """After a failure, refuse calls for a while instead of waiting on Redis.

    Waiting screens poll; without this, an outage would tie up every worker
    in socket timeouts. After the back-off (AUTH_QR_CODE_REDIS_FAILURE_BACKOFF)
    one request probes Redis while the others still fail fast. Logs once
    when Redis goes away and once when it is back, not once per request.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("qrauth.store.availability")
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.open_until = 0.0
        self.down = False
        self.failures = 0

    def call(self, operation: Callable[[], T]) -> T:
        """``operation()``, or StoreUnavailable without trying while open."""
        with self._lock:
            now = clock.monotonic()
            if now < self.open_until:
                raise StoreUnavailable("redis is down; not retrying yet")
            if self.down:  # this request is the probe; the others wait
                self.open_until = now + settings.REDIS_FAILURE_BACKOFF
            generation = self.failures
        try:
            result = operation()
        except REDIS_ERRORS as exc:
            self._failed(exc)
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if self.down:
            self._recovered(generation)
        return result

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self.failures += 1
            self.open_until = clock.monotonic() + settings.REDIS_FAILURE_BACKOFF
            if self.down:
                return
            self.down = True
        self.logger.warning(
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
        self.logger.warning("qrauth: Redis is reachable again")


def unguarded(operation: Callable[[], Any]) -> Any:
    """``operation()`` with no breaker: any Redis error is StoreUnavailable."""
    try:
        return operation()
    except REDIS_ERRORS as exc:
        raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
