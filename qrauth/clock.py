"""The clocks qrauth reads: one place, so tests can move time by hand.

Callers read ``clock.now()`` through the module (never ``from .clock import
now``), which is what a test replaces.
"""

from __future__ import annotations

import time

__all__ = ["monotonic", "now", "now_ms"]


def now() -> int:
    """Wall-clock whole seconds: order ages and animated frames count in these.
    Every web server reads its own clock; keep them in sync (NTP)."""
    return int(time.time())


def now_ms() -> int:
    """Wall-clock milliseconds, for the minimum interval between polls."""
    return int(time.time() * 1000)


def monotonic() -> float:
    """Seconds that never go back, for back-offs within one process."""
    return time.monotonic()
