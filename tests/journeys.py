"""The two journeys end to end, as a desktop and a phone make them, for
tests that must hold whatever the configuration (the session engine, ...).

Scan URLs are fetched as a phone's browser does: a GET that may redirect
(``follow=True``), then the form's POST to the scan URL itself.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from .helpers import open_signin, scan, status

__all__ = ["approve", "hand_off", "open_signin", "status"]


def hand_off(desktop: Client, phone: Client) -> HttpResponse:
    """``desktop`` (signed in) shows its code and its image; ``phone`` scans
    the image and confirms. The phone's answer to the confirmation."""
    path = scan(desktop)
    assert phone.get(path, follow=True).status_code == 200
    return phone.post(path)


def approve(computer: Client, phone: Client) -> HttpResponse:
    """``computer`` (not signed in) shows a code; ``phone`` (signed in) scans
    its frame, types the number the computer then shows, and approves; the
    computer continues. The computer's answer to that."""
    auth_code = open_signin(computer)
    path = urlsplit(status(computer, auth_code)["frame"]).path
    assert phone.get(path, follow=True).status_code == 200
    number = status(computer, auth_code)["number"]  # shown once this phone looked
    answer = phone.post(path, {"action": "approve", "number": number or ""})
    assert answer.status_code == 200
    collect = reverse("qrauth_collect", args=[auth_code])
    return computer.post(collect, {"confirm": "account"})
