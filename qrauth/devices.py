"""A short, human description of a device from its User-Agent header.

Shown to people ("Safari on iOS"), never used for a security decision: a
User-Agent is whatever the client says it is.
"""

from __future__ import annotations

import re

__all__ = ["describe_user_agent"]

# First match wins; order matters (Edge and Chrome both say "Chrome").
_BROWSERS = (
    ("Edge", r"Edg(?:e|A|iOS)?/"),
    ("Opera", r"OPR/|Opera"),
    ("Samsung Internet", r"SamsungBrowser/"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/"),
    ("Safari", r"Safari/"),
)
_SYSTEMS = (
    ("iOS", r"iPhone|iPad|iPod"),
    ("Android", r"Android"),
    ("Windows", r"Windows"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux"),
)


def _first(patterns: tuple[tuple[str, str], ...], user_agent: str) -> str | None:
    for name, pattern in patterns:
        if re.search(pattern, user_agent):
            return name
    return None


def describe_user_agent(user_agent: str) -> str:
    """E.g. "Safari on iOS", "Firefox on Windows", or "an unknown device"."""
    user_agent = user_agent[:512]
    browser = _first(_BROWSERS, user_agent)
    system = _first(_SYSTEMS, user_agent)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "an unknown device"
