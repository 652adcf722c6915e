"""A short, human description of a device from its User-Agent header.

Shown to people ("Safari on iOS"), never used for a security decision: a
User-Agent is whatever the client says it is.
"""

from __future__ import annotations

import ipaddress
import re

from django.http import HttpRequest

__all__ = ["client_ip", "describe_user_agent", "same_network"]

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


def client_ip(request: HttpRequest) -> str:
    """The client's address as this server sees it (``REMOTE_ADDR``)."""
    return request.META.get("REMOTE_ADDR", "")


def same_network(first: str, second: str) -> bool | None:
    """Whether two addresses look like one network: the same IPv4 /24 or
    IPv6 /64. None when that cannot be told: either is not an address, or
    looks like a proxy's. A hint for people, never a security decision: a
    proxy or a VPN moves both."""
    try:
        a, b = ipaddress.ip_address(first), ipaddress.ip_address(second)
    except ValueError:
        return None
    if a.is_loopback or b.is_loopback or (a == b and a.is_private):
        # One proxy's address for everyone (a reverse proxy, gunicorn behind
        # nginx): it says nothing about the two devices.
        return None
    if a.version != b.version:
        return False
    prefix = 24 if a.version == 4 else 64
    return ipaddress.ip_network(f"{a}/{prefix}", strict=False) == ipaddress.ip_network(
        f"{b}/{prefix}", strict=False
    )
