"""Rate-limit counters: one atomic script per count (scripts HIT, UNHIT),
fixed windows, shared by every web server. What is limited, and how much,
is qrauth/limits.py's business."""

from __future__ import annotations

import logging
from typing import Any

from ..model import Limit, OverLimit
from . import scripts
from .client import Call, default
from .keys import limit_key

__all__ = ["check_hits", "give_back_calls", "hit", "hit_call"]

logger = logging.getLogger("qrauth.store")


def hit_call(limit: Limit) -> Call:
    """One more of ``limit``, to run alone or in a pipeline."""
    return (scripts.HIT, limit_key(limit), scripts.HIT.argv({"window": limit.window}))


def check_hits(limits: list[Limit], results: list[Any]) -> None:
    """Raise OverLimit for the limit whose window ends last, if any is full."""
    over = []
    for limit, result in zip(limits, results, strict=True):
        counted = scripts.pairs(result)
        count, seconds_left = int(counted["count"]), int(counted["ttl"])
        if count <= limit.count:
            continue
        if count == limit.count + 1:  # once a window, not once a request
            logger.warning(
                "qrauth: rate limit %s reached%s; refusing for %s s",
                limit.name,
                f" by {limit.shown}" if limit.shown else "",
                seconds_left,
            )
        over.append((max(seconds_left, 1), limit.name))
    if over:
        raise OverLimit(*max(over))


def give_back_calls(limits: list[Limit], results: list[Any]) -> list[Call]:
    """Give one count back to each limit that did not refuse (UNHIT)."""
    under = [
        limit
        for limit, result in zip(limits, results, strict=True)
        if int(scripts.pairs(result)["count"]) <= limit.count
    ]
    return [(scripts.UNHIT, limit_key(limit), []) for limit in under]


def hit(limit: Limit) -> None:
    """Count one more of ``limit``; raise OverLimit when that is one too many."""
    check_hits([limit], default.run_all([hit_call(limit)]))
