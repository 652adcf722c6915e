"""Where things live in Redis: every key qrauth writes.

An order is one small hash at ``<prefix>:{<order ref>}``; a rate limit's
counter is ``<prefix>:limit:<name>:{<hash of who>}``. The braces are hash
tags, so each key is its own hash slot and every script runs unchanged on
Redis Cluster. Both names are keyed hashes: nothing stored can be turned
back into a URL, a session key or an address.
"""

from __future__ import annotations

from .. import tokens
from ..conf import settings
from ..model import Limit

__all__ = ["limit_key", "limits_prefix", "order_key", "stream_key"]


def order_key(order_id: str) -> str:
    """The Redis key of an order: prefix plus a hash tag of its ref."""
    return f"{settings.KEY_PREFIX}:{{{tokens.order_ref(order_id)}}}"


def limits_prefix() -> str:
    """What every rate-limit counter's key starts with."""
    return f"{settings.KEY_PREFIX}:limit:"


def limit_key(limit: Limit) -> str:
    """A limit's counter: keyed by a hash, so Redis holds no session key or IP."""
    who = tokens.keyed_hash(f"limit.{limit.name}", limit.who)
    return f"{limits_prefix()}{limit.name}:{{{who}}}"


def stream_key(who: str) -> str:
    """The open event streams of one client (``who``: a session, a network)."""
    return f"{settings.KEY_PREFIX}:streams:{{{tokens.keyed_hash('streams', who)}}}"
