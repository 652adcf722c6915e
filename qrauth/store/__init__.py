"""Orders in Redis: the only package that talks to Redis.

- ``client``: the connection (client, registered scripts, circuit breaker);
- ``breaker``: failing fast while Redis is down;
- ``scripts`` and ``lua/``: one Lua script per step, called by name;
- ``keys``: where things live; ``records``: an order's fields read back;
- ``orders``: the issuing browser's steps; ``scans``: the phone's;
- ``counters``: rate-limit counting; ``overview``: counts for qrauth_status;
- ``events``: the one subscriber that wakes waiting screens, and open streams.

Callers use the names exported here; the modules are the store's own.
"""

from __future__ import annotations

from typing import Any

from ..conf import settings
from ..model import (
    Collected,
    Decision,
    Flow,
    Issue,
    Limit,
    Order,
    OverLimit,
    State,
    Status,
    StoreUnavailable,
)
from . import scripts
from .client import Connection, default
from .counters import hit
from .events import close_stream, open_stream, subscriber
from .keys import limit_key, order_key
from .orders import (
    cancel_order,
    claimer_status,
    collect_order,
    desktop_decides,
    issue_approve_order,
    issue_order,
    order_status,
    picture_created,
    refuse_order,
)
from .overview import LIMIT_NAMES, LimitCounters, Overview, overview
from .scans import (
    ask_desktop,
    consume_order,
    decide_order,
    decline_order,
    finish_order,
    peek_order,
    record_scan,
)

__all__ = [
    "Collected",
    "Connection",
    "Decision",
    "Flow",
    "Issue",
    "LIMIT_NAMES",
    "Limit",
    "LimitCounters",
    "Order",
    "OverLimit",
    "Overview",
    "State",
    "Status",
    "StoreUnavailable",
    "ask_desktop",
    "cancel_order",
    "close_stream",
    "claimer_status",
    "collect_order",
    "consume_order",
    "decide_order",
    "decline_order",
    "desktop_decides",
    "finish_order",
    "get_redis",
    "hit",
    "issue_approve_order",
    "issue_order",
    "limit_key",
    "order_key",
    "open_stream",
    "order_status",
    "overview",
    "peek_order",
    "picture_created",
    "ping",
    "record_scan",
    "refuse_order",
    "reset_client",
    "scripts",
    "subscriber",
]


def get_redis() -> Any:
    """The process-wide Redis client (one connection pool per process)."""
    return default.client


def reset_client() -> None:
    """Forget the client, so the next call builds one from current settings."""
    default.reset()


def ping() -> None:
    """Raise StoreUnavailable unless Redis answers now. On a connection of
    its own: a failed system check must not open the web requests' breaker."""
    connection = Connection(breaker=None)
    try:
        connection.guarded(lambda: connection.client.ping())
    finally:
        if not settings.REDIS_CLIENT_FACTORY:  # a factory's client may be shared
            connection.close()


# The words callers used before there were types for them.
HANDOFF, APPROVE = Flow.HANDOFF, Flow.APPROVE
PENDING, SCANNED, APPROVED, CONSUMED = State.PENDING, State.SCANNED, State.APPROVED, State.CONSUMED
CANCELLED, DENIED, WRONG_NUMBER, REFUSED = (
    State.CANCELLED,
    State.DENIED,
    State.WRONG_NUMBER,
    State.REFUSED,
)
ASKING_DESKTOP, ALLOWED = State.ASKING_DESKTOP, State.ALLOWED

# For tests that open the breaker by hand.
_breaker = default.breaker
