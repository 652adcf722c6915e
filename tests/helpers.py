"""Small helpers the tests share: reading the QR a page shows, and the
approve flow's sign-in page, status and collect as a browser uses them."""

from __future__ import annotations

import io
import json
from urllib.parse import urlsplit

import zxingcpp
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client
from django.urls import reverse
from PIL import Image

# What the tests' desktops and phones say they are (User-Agent).
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def browser_of(user) -> Client:
    """A browser signed in as ``user``."""
    client = Client()
    client.force_login(user)
    return client


def hand_clock(monkeypatch, name: str, start: float):
    """Replace the clock function ``name`` (qrauth.clock); move it with ``.now += s``."""
    from qrauth import clock

    class Clock:
        now = start

    monkeypatch.setattr(clock, name, lambda: Clock.now)
    return Clock


def decode_png(png: bytes) -> str:
    """The text of the one QR code in a PNG, via zxing-cpp.

    QR codes only, as a phone's camera looks for: a 1-D format can find a
    false "barcode" in any busy black-and-white pattern."""
    results = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert len(results) == 1, f"expected one QR code, found {len(results)}"
    return results[0].text


def open_qr_page(desktop: Client) -> str:
    """Load the QR page as ``desktop``; return the page's auth_code."""
    response = desktop.get(reverse("qr_code_page"))
    assert response.status_code == 200
    return response.context["auth_code"]


def scan(desktop: Client) -> str:
    """Open the QR page, fetch the image, decode it; return the scan URL's path."""
    auth_code = open_qr_page(desktop)
    response = desktop.get(reverse("auth_qr_code", args=[auth_code]))
    assert response.status_code == 200
    return urlsplit(decode_png(response.content)).path


def everything_in_redis(client) -> str:
    """Every key Redis holds, and every field and value of the hashes (the
    orders) and every value of the strings (rate-limit counters), as one text."""
    parts = []
    for key in client.scan_iter():
        parts.append(key.decode())
        if client.type(key) == b"hash":
            for field, value in client.hgetall(key).items():
                parts += [field.decode(), value.decode()]
        else:
            parts.append(client.get(key).decode())
    return "\n".join(parts)


def forget_rate_limits() -> None:
    """Delete every rate-limit counter, so that a test sending many requests
    from one address (hypothesis, example after example) meets the limits
    afresh each time, as the first visitor from that address would."""
    from qrauth import store
    from qrauth.conf import settings

    client = store.get_redis()
    for key in client.scan_iter(match=f"{settings.KEY_PREFIX}:limit:*"):
        client.delete(key)


def open_signin(browser: Client, **params) -> str:
    """The approve sign-in page's auth_code, as ``browser`` (not signed in) opens it."""
    response = browser.get(reverse("qrauth_signin"), params)
    assert response.status_code == 200
    return response.context["auth_code"]


def status(browser: Client, auth_code: str) -> dict:
    """The status JSON of ``browser``'s order ``auth_code``."""
    response = browser.get(reverse("qrauth_status", args=[auth_code]))
    assert response.status_code == 200
    return json.loads(response.content)


def collect(browser: Client, auth_code: str, **data):
    """The approve page's Continue (``confirm="account"``: the second click)."""
    return browser.post(reverse("qrauth_collect", args=[auth_code]), data)


def signed_in_as(client: Client) -> str | None:
    """The username ``client``'s session is signed in as, or None."""
    user_id = client.session.get(SESSION_KEY)
    if user_id is None:
        return None
    return get_user_model().objects.get(pk=user_id).get_username()
