"""The connection to Redis: a client built from the settings, the scripts
registered on it, and the breaker every call goes through.

``default`` is the process-wide connection (one pool per process), rebuilt
from the settings when a test changes them. Anything that must not share
its breaker (``qrauth_status``) or its client (the bench) makes its own
``Connection``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import redis
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..conf import settings
from .breaker import CircuitBreaker, unguarded
from .scripts import SCRIPTS, Script

__all__ = ["Call", "Connection", "client_from_settings", "default"]

Call = tuple[Script, str, list[Any]]  # a script, its one key, its arguments in order


def client_from_settings() -> Any:
    """A new Redis client as AUTH_QR_CODE_REDIS_* say."""
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


class Connection:
    """A Redis client made when first needed, the scripts registered on it,
    and a breaker (None: errors pass through as StoreUnavailable, unguarded)."""

    def __init__(
        self,
        breaker: CircuitBreaker | None = None,
        build: Callable[[], Any] = client_from_settings,
    ) -> None:
        self.breaker = breaker
        self._build = build
        self._lock = threading.Lock()
        self._client: Any = None
        self._registered: dict[str, Any] = {}
        self._on_reset: list[Callable[[], None]] = []

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever the client is forgotten (``reset``)."""
        self._on_reset.append(callback)

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
        return self._client

    def reset(self) -> None:
        """Forget the client, so the next call builds one from current settings."""
        with self._lock:
            self._client = None
            self._registered.clear()
        if self.breaker is not None:
            self.breaker.reset()
        for callback in self._on_reset:
            callback()

    def close(self) -> None:
        """Close the client's connections, if it was ever built."""
        client, self._client = self._client, None
        close = getattr(client, "close", None)
        if close is not None:
            close()

    def guarded(self, operation: Callable[[], Any]) -> Any:
        """``operation()`` through the breaker, if any."""
        if self.breaker is None:
            return unguarded(operation)
        return self.breaker.call(operation)

    def registered(self, script: Script) -> Any:
        """redis-py's handle of ``script`` on this client (EVALSHA, loading
        it again after a Redis restart)."""
        handle = self._registered.get(script.name)
        if handle is None:
            if not self._registered:
                self._load_all()
            handle = self._registered[script.name] = self.client.register_script(script.source)
        return handle

    def _load_all(self) -> None:
        """Load every script into a single Redis in one round trip, so that
        none costs a NOSCRIPT miss and a load the first time it runs."""
        client = self.client
        if not isinstance(client, redis.Redis):
            return  # a cluster loads each on its node when first needed
        pipe = client.pipeline(transaction=False)
        for script in SCRIPTS.values():
            pipe.script_load(script.source)
        pipe.execute()

    def run(self, script: Script, key: str, **args: Any) -> Any:
        """Run ``script`` on ``key`` with its arguments by name."""
        argv = script.argv(args)
        return self.guarded(lambda: self.registered(script)(keys=[key], args=argv))

    def run_all(self, calls: list[Call]) -> list[Any]:
        """Run scripts on keys of different hash slots, in one round trip on a
        single Redis (a pipeline, not a transaction: each script is atomic
        on its own). A cluster client gets one call each."""
        return self.guarded(lambda: self.pipelined(calls))

    def pipelined(self, calls: list[Call]) -> list[Any]:
        """``run_all`` without the breaker."""
        client = self.client
        if not isinstance(client, redis.Redis):
            return [self.registered(script)(keys=[key], args=args) for script, key, args in calls]
        pipe = client.pipeline(transaction=False)
        for script, key, args in calls:
            pipe.evalsha(self.registered(script).sha, 1, key, *args)
        results = pipe.execute(raise_on_error=False)
        for index, result in enumerate(results):
            if isinstance(result, redis.exceptions.NoScriptError):  # a restarted Redis
                script, key, args = calls[index]
                results[index] = self.registered(script)(keys=[key], args=args)
            elif isinstance(result, Exception):
                raise result
        return results


default = Connection(CircuitBreaker())


@receiver(setting_changed)
def _reset_on_setting_changed(setting: str, **kwargs: Any) -> None:
    if setting.startswith("AUTH_QR_CODE_REDIS"):
        default.reset()
