"""A short, human description of a device from its User-Agent header.

Shown to people ("Safari on iOS"), never used for a security decision: a
User-Agent is whatever the client says it is.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re

from django.http import HttpRequest
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_noop

from .conf import settings

__all__ = ["client_ip", "describe_user_agent", "device_label", "same_network"]

logger = logging.getLogger(__name__)

# In English wherever it is kept (the order, signals); device_label translates it.
UNKNOWN_DEVICE = gettext_noop("an unknown device")

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
    return browser or system or UNKNOWN_DEVICE


def device_label(device: str) -> str:
    """A description from ``describe_user_agent`` in the active language, for
    a page: "Safari on iOS" becomes "Safari på iOS" in Swedish. Browser and
    system names are proper names and stay as they are."""
    if device == UNKNOWN_DEVICE:
        return gettext(UNKNOWN_DEVICE)
    browser, on, system = device.partition(" on ")
    if not on:
        return device
    # Translators: a browser on an operating system, e.g. "Safari on iOS".
    return gettext("{browser} on {system}").format(browser=browser, system=system)


def client_ip(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, unless AUTH_QR_CODE_TRUSTED_PROXIES
    says how many proxies in front of this server append to
    ``X-Forwarded-For`` (the address the outermost one saw), or names a
    callable that knows. Never ``X-Forwarded-For`` by default: any client
    can send one. "" when there is none (a server on a unix socket)."""
    address = _client_ip(request)
    if not address:
        _say_no_address()
    return address


@functools.cache  # once per process: every such request would say the same
def _say_no_address() -> None:
    logger.warning(
        "qrauth: a request without a client address (REMOTE_ADDR is empty, as behind "
        "a server on a unix socket): all such requests share one rate-limit bucket, "
        '"unknown". Have the proxy in front set X-Forwarded-For and set '
        "AUTH_QR_CODE_TRUSTED_PROXIES (docs/howto/proxies.rst)."
    )


def _client_ip(request: HttpRequest) -> str:
    proxies = settings.TRUSTED_PROXIES
    if isinstance(proxies, str):
        return str(import_string(proxies)(request) or "")
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies == 0:
        return remote
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [hop for hop in forwarded if hop]
    # Each trusted proxy appended the address it saw; the rest is the client's say.
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]


def same_network(first: str, second: str) -> bool | None:
    """Whether two addresses look like one network: the same IPv4 /24 or
    IPv6 /64. None when that cannot be told: either is not an address, or
    looks like a proxy's. A hint for people, never a security decision: a
    proxy or a VPN moves both."""
    try:
        a, b = _address(first), _address(second)
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


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(text)
    # A dual-stack server sees an IPv4 client as ::ffff:192.0.2.1.
    return getattr(address, "ipv4_mapped", None) or address
