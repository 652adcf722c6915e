"""Rate limits: how many codes a browser, a user, a network or the whole
site may ask for, and how many codes that do not work one network may try.

Counters live in Redis (store.hit, one atomic script per counter) in fixed
windows, so every web server shares them. Each limit is a setting of
``(count, seconds)``, or None to turn it off. The minimum interval between
status polls (AUTH_QR_CODE_STATUS_INTERVAL) is kept on the order itself, in
the status script: see store.order_status.

A code that works is never refused for its network's failures: phones sit
behind carrier NAT, thousands to one address, and one bad neighbour must
not lock them all out. Codes cannot be guessed (128-bit, checked with a MAC
before Redis is asked); the failure limit bounds what a flood of bad codes
costs the site and how much it fills the logs.

Open event streams (AUTH_QR_CODE_PUSH) are limited by how many are open at
once, per browser session and per network (AUTH_QR_CODE_STREAMS_PER_*).
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest

from . import issuers, store
from .conf import settings
from .devices import client_ip
from .model import Flow, Limit, Rate

__all__ = ["network_of", "order_limits", "scan_failed", "stream_limits"]


def network_of(address: str) -> str:
    """Who an address is, for a limit: an IPv4 address, or an IPv6 /64 (one
    subscriber's share, which they can spread requests over at will).
    "unknown" for no address (behind a server on a unix socket): all such
    clients share one limit, rather than each having none."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:  # ::ffff:192.0.2.1 is 192.0.2.1
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def _limit(rate: Rate, who: str, shown: str = "") -> list[Limit]:
    setting = getattr(settings, rate.setting)
    if setting is None or not who:  # off, or nobody to hold to it
        return []
    count, window = setting
    return [Limit(rate.value, who, count, window, shown)]


def _per_network(rate: Rate, request: HttpRequest) -> list[Limit]:
    network = network_of(client_ip(request))
    return _limit(rate, network, network)


def _per_session(request: HttpRequest) -> list[Limit]:
    if settings.ORDERS_PER_SESSION is None:
        return []  # off
    return _limit(Rate.ORDERS_PER_SESSION, issuers.session_id(request))


# One counter for the whole site: what bounds the memory that open approve
# orders take in Redis, whoever asks for them (many addresses, one each).
_SITE = "site"


def order_limits(request: HttpRequest, flow: str) -> list[Limit]:
    """The limits a new order of ``flow`` counts against: its browser
    session's, and its user's (hand-off) or its network's and the site's
    (approve: a session costs an anonymous client nothing)."""
    limits = _per_session(request)
    if Flow(flow).anonymous_issuer:
        site = _limit(Rate.APPROVE_ORDERS_PER_SITE, _SITE)
        return limits + _per_network(Rate.APPROVE_ORDERS_PER_IP, request) + site
    user_id = str(request.user.pk)
    return limits + _limit(Rate.ORDERS_PER_USER, user_id, f"user {user_id}")


def scan_failed(request: HttpRequest) -> None:
    """Count a scan URL request whose code did not work (unknown, forged,
    stale, used); raise store.OverLimit once its network had too many."""
    for limit in _per_network(Rate.SCAN_FAILURES_PER_IP, request):
        store.hit(limit)


def stream_limits(request: HttpRequest, holder: str) -> list[tuple[str, int]]:
    """(who, at most) for each limit a new event stream counts against: its
    browser session's (``holder``: the session's digest for the order it
    follows, so that nothing is written to the session) and its network's
    open streams; the ones set."""
    held = []
    if settings.STREAMS_PER_SESSION is not None:
        held.append((f"session:{holder}", settings.STREAMS_PER_SESSION))
    if settings.STREAMS_PER_IP is not None:
        held.append((f"network:{network_of(client_ip(request))}", settings.STREAMS_PER_IP))
    return held
