"""Describing a device from its User-Agent header, and comparing networks."""

from __future__ import annotations

import pytest

from qrauth.devices import client_ip, describe_user_agent, same_network

USER_AGENTS = {
    "Safari on iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    ),
    "Chrome on Android": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.6478.122 Mobile Safari/537.36"
    ),
    "Chrome on Windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36"
    ),
    "Edge on Windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87"
    ),
    "Firefox on macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0"
    ),
    "Firefox on iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15"
    ),
    "Samsung Internet on Android": (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"
    ),
    "Chrome on iOS": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1"
    ),
    "Safari on macOS": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
    ),
}


@pytest.mark.parametrize(("expected", "user_agent"), USER_AGENTS.items())
def test_real_browsers(expected, user_agent):
    assert describe_user_agent(user_agent) == expected


@pytest.mark.parametrize("user_agent", ["", " ", "garbage", "curl/8.7.1", "\x00\xff{}()"])
def test_unknown_devices(user_agent):
    assert describe_user_agent(user_agent) == "an unknown device"


@pytest.mark.parametrize("filler", ["A", "(", "Edg", "Mozilla/5.0 (", "é"])
def test_a_huge_user_agent_is_described(filler):
    user_agent = USER_AGENTS["Chrome on Windows"] + filler * 100_000
    assert describe_user_agent(user_agent[:100_000]) == "Chrome on Windows"


def test_a_huge_garbage_user_agent_is_unknown():
    assert describe_user_agent("x" * 100_000) == "an unknown device"


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("203.0.113.7", "203.0.113.50", True),
        ("203.0.113.7", "203.0.114.7", False),
        ("2001:db8:1:2::1", "2001:db8:1:2:abcd::9", True),
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("203.0.113.7", "2001:db8::1", False),
        ("", "203.0.113.7", None),
        ("not an address", "203.0.113.7", None),
        ("127.0.0.1", "127.0.0.1", None),  # a reverse proxy in front of both
        ("::1", "203.0.113.7", None),
        ("10.0.0.5", "10.0.0.5", None),
        ("192.168.1.10", "192.168.1.20", True),  # a site on the LAN
        # A dual-stack server sees IPv4 clients as IPv4-mapped IPv6 addresses.
        ("::ffff:203.0.113.7", "203.0.113.50", True),
        ("::ffff:203.0.113.7", "::ffff:203.0.114.7", False),
        ("::ffff:127.0.0.1", "203.0.113.7", None),
        ("::ffff:10.0.0.5", "10.0.0.5", None),
    ],
)
def test_same_network(first, second, expected):
    assert same_network(first, second) is expected


def address_from_header(request) -> str:
    """A site's own AUTH_QR_CODE_TRUSTED_PROXIES callable."""
    return request.headers.get("X-Real-IP", "")


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.9", "10.0.0.2"),  # by default a client's header counts for nothing
        (1, "198.51.100.9", "198.51.100.9"),
        (1, "6.6.6.6, 198.51.100.9", "198.51.100.9"),  # the client's own part is ignored
        (2, "6.6.6.6, 198.51.100.9, 10.0.0.1", "198.51.100.9"),
        (2, "198.51.100.9", "10.0.0.2"),  # fewer hops than proxies: not to be trusted
        (1, "", "10.0.0.2"),
    ],
)
def test_client_ip_behind_trusted_proxies(rf, settings, proxies, forwarded, expected):
    settings.AUTH_QR_CODE_TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_client_ip_from_a_callable(rf, settings):
    settings.AUTH_QR_CODE_TRUSTED_PROXIES = f"{__name__}.address_from_header"
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="198.51.100.9")
    assert client_ip(request) == "198.51.100.9"
