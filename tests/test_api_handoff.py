"""The JSON API of the hand-off phone: a browser (a single-page app) that is
not signed in looks at a code, continues, and is signed in; with desktop
confirmation it waits for the desktop's Allow, then finishes. The phone is
signed in by the code, so these calls take the cookie session only, and
every POST passes CSRF: a forged answer would sign a victim's browser into
the attacker's account (login CSRF)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from .helpers import open_qr_page, scan, signed_in_as
from .openapi import described
from .test_api import code_on_screen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

LOOK = "/api/handoff/{auth_code}/"
ANSWER = "/api/handoff/"
WAIT = "/api/handoff/wait/{wait}/"
FINISH = "/api/handoff/wait/{wait}/finish/"


@pytest.fixture
def spa():
    """The site's single-page app on a phone: cookies, and CSRF enforced."""
    return Client(enforce_csrf_checks=True, HTTP_USER_AGENT="Mozilla/5.0 (Android 14) Mobile")


def scanned_code(desktop: Client) -> str:
    return urlsplit(scan(desktop)).path.rstrip("/").rsplit("/", 1)[1]


def look(phone: Client, code: str):
    return phone.get(reverse("qrauth_api_handoff", args=[code]))


def post_json(phone: Client, url: str, body: dict | None = None, csrf: bool = True):
    headers = {}
    if csrf and "csrftoken" in phone.cookies:
        headers["HTTP_X_CSRFTOKEN"] = phone.cookies["csrftoken"].value
    return phone.post(url, json.dumps(body or {}), content_type="application/json", **headers)


def answer(phone: Client, scan_handle: str, action: str = "continue", csrf: bool = True):
    body = {"scan": scan_handle, "action": action}
    return post_json(phone, reverse("qrauth_api_handoff_answer"), body, csrf)


def test_a_phone_looks_continues_and_is_signed_in(desktop, spa):
    details = described(look(spa, scanned_code(desktop)), LOOK, "get")
    assert details["account"]["name"] == "alice"
    assert details["desktop_confirmation"] is False
    assert signed_in_as(spa) is None  # looking signs nobody in
    done = described(answer(spa, details["scan"]), ANSWER, "post")
    assert done == {"state": "signed_in", "redirect_url": "/"}
    assert signed_in_as(spa) == "alice"


def test_an_answer_without_csrf_signs_nobody_in(desktop, spa):
    details = described(look(spa, scanned_code(desktop)), LOOK, "get")
    refused = described(answer(spa, details["scan"], csrf=False), ANSWER, "post")
    assert refused["error"]["code"] == "csrf_failed"
    assert signed_in_as(spa) is None
    assert answer(spa, details["scan"]).json()["state"] == "signed_in"  # the code still works


def test_an_apps_token_does_not_stand_in_for_csrf_here(desktop, bob, settings):
    """The hand-off phone is signed in by the code, never by an app's token."""
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = [
        "qrauth.contrib.rest_framework.token_authentication"
    ]
    app = Client(
        enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=bob).key}"
    )
    details = described(look(app, scanned_code(desktop)), LOOK, "get")
    refused = described(answer(app, details["scan"], csrf=False), ANSWER, "post")
    assert refused["error"]["code"] == "csrf_failed"


@pytest.mark.parametrize("handle", ["", "x", "W1siYSJdXQ:1:bad", "a" * 400])
def test_a_handle_that_is_not_one_is_an_invalid_code(spa, handle):
    spa.get(reverse("qrauth_api_schema"))
    refused = described(answer(spa, handle), ANSWER, "post")
    assert refused["error"]["code"] == "invalid_code"


def test_a_decline_uses_the_code_up_and_signs_nobody_in(desktop, spa):
    details = described(look(spa, scanned_code(desktop)), LOOK, "get")
    assert described(answer(spa, details["scan"], "decline"), ANSWER, "post") == {
        "state": "declined"
    }
    again = described(answer(spa, details["scan"]), ANSWER, "post")
    assert again["error"]["code"] == "invalid_code"
    assert signed_in_as(spa) is None


def test_a_code_signs_one_phone_in(desktop, spa):
    details = described(look(spa, scanned_code(desktop)), LOOK, "get")
    assert answer(spa, details["scan"]).json()["state"] == "signed_in"
    second = Client(enforce_csrf_checks=True)
    second.get(reverse("qrauth_api_schema"))  # a CSRF cookie of its own
    replay = described(answer(second, details["scan"]), ANSWER, "post")
    assert replay["error"]["code"] == "invalid_code"


def test_the_browser_that_shows_the_code_is_told_so(desktop):
    auth_code = open_qr_page(desktop)
    code = code_on_screen(desktop, auth_code)
    own = described(look(desktop, code), LOOK, "get")
    assert own["error"]["code"] == "own_code"


def test_a_look_never_uses_the_code(desktop, spa):
    code = scanned_code(desktop)
    for _ in range(3):
        assert look(spa, code).status_code == 200
        assert spa.head(reverse("qrauth_api_handoff", args=[code])).status_code == 200
    assert signed_in_as(spa) is None
    details = described(look(spa, code), LOOK, "get")
    assert answer(spa, details["scan"]).json()["state"] == "signed_in"


# -- desktop confirmation ----------------------------------------------------------


@pytest.fixture
def confirming(settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True


def decide(desktop: Client, auth_code: str, action: str):
    return desktop.post(reverse("qrauth_handoff_decide", args=[auth_code]), {"action": action})


def asked(desktop: Client, spa: Client) -> tuple[str, str]:
    """The phone continues and waits: (the desktop's auth_code, the wait)."""
    auth_code = open_qr_page(desktop)
    code = code_on_screen(desktop, auth_code)
    details = described(look(spa, code), LOOK, "get")
    assert details["desktop_confirmation"] is True
    waiting = answer(spa, details["scan"])
    body = described(waiting, ANSWER, "post")
    assert waiting.status_code == 202 and body["state"] == "waiting"
    return auth_code, body["wait"]


def wait(phone: Client, wait_id: str):
    return phone.get(reverse("qrauth_api_handoff_wait", args=[wait_id]))


def finish(phone: Client, wait_id: str):
    return post_json(phone, reverse("qrauth_api_handoff_finish", args=[wait_id]))


@pytest.mark.usefixtures("confirming")
def test_the_phone_waits_for_the_desktops_allow_then_finishes(desktop, spa):
    auth_code, wait_id = asked(desktop, spa)
    assert described(wait(spa, wait_id), WAIT, "get")["hint"] == "waiting"
    early = described(finish(spa, wait_id), FINISH, "post")
    assert early["error"]["code"] == "waiting"
    assert signed_in_as(spa) is None
    assert decide(desktop, auth_code, "allow").status_code == 200
    assert described(wait(spa, wait_id), WAIT, "get")["hint"] == "approved"
    assert described(finish(spa, wait_id), FINISH, "post")["state"] == "signed_in"
    assert signed_in_as(spa) == "alice"


@pytest.mark.usefixtures("confirming")
def test_a_denied_phone_is_told_and_not_signed_in(desktop, spa):
    auth_code, wait_id = asked(desktop, spa)
    decide(desktop, auth_code, "deny")
    assert described(wait(spa, wait_id), WAIT, "get")["hint"] == "denied"
    refused = described(finish(spa, wait_id), FINISH, "post")
    assert refused["error"]["code"] == "invalid_code"
    assert signed_in_as(spa) is None


@pytest.mark.usefixtures("confirming")
def test_only_the_phone_that_asked_can_wait_and_finish(desktop, spa):
    auth_code, wait_id = asked(desktop, spa)
    decide(desktop, auth_code, "allow")
    other = Client(enforce_csrf_checks=True)
    other.get(reverse("qrauth_api_schema"))
    assert described(wait(other, wait_id), WAIT, "get")["error"]["code"] == "not_found"
    assert described(finish(other, wait_id), FINISH, "post")["error"]["code"] == "not_found"
    assert signed_in_as(other) is None


@pytest.mark.usefixtures("confirming")
def test_finishing_needs_csrf(desktop, spa):
    auth_code, wait_id = asked(desktop, spa)
    decide(desktop, auth_code, "allow")
    url = reverse("qrauth_api_handoff_finish", args=[wait_id])
    refused = described(post_json(spa, url, csrf=False), FINISH, "post")
    assert refused["error"]["code"] == "csrf_failed"
    assert signed_in_as(spa) is None
