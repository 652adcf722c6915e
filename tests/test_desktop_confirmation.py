"""Hand-off with desktop confirmation: after the phone's Continue, the
desktop is asked "<device> at <address> asks to sign in as you", and the
phone waits for Allow or Deny."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from .helpers import open_qr_page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

INVALID = reverse("invalid_auth_code")


@pytest.fixture(autouse=True)
def confirmation_on(settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True


@pytest.fixture
def phone():
    return Client(
        HTTP_USER_AGENT=(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        ),
        REMOTE_ADDR="198.51.100.23",
    )


def status(browser: Client, url: str) -> dict:
    response = browser.get(url)
    assert response.status_code == 200, response.status_code
    return json.loads(response.content)


def desktop_status(desktop: Client, auth_code: str) -> dict:
    return status(desktop, reverse("qrauth_status", args=[auth_code]))


def continue_on_the_phone(desktop: Client, phone: Client) -> tuple[str, str]:
    """Show a code, let the phone scan it and press Continue: (auth_code, token)."""
    auth_code = open_qr_page(desktop)
    path = urlsplit(desktop_status(desktop, auth_code)["frame"]).path
    phone.get(path)
    page = phone.post(path)
    assert "qrauth/handoff_wait.html" in [t.name for t in page.templates]
    return auth_code, path.strip("/").rsplit("/", 1)[1]


def decide(desktop: Client, auth_code: str, action: str):
    return desktop.post(reverse("qrauth_handoff_decide", args=[auth_code]), {"action": action})


def finish(phone: Client, token: str):
    return phone.post(reverse("qrauth_handoff_finish", args=[token]))


def test_the_desktop_allows_and_the_phone_signs_in(desktop, phone, sent):
    auth_code, token = continue_on_the_phone(desktop, phone)
    assert SESSION_KEY not in phone.session  # Continue alone signs nobody in now
    answer = desktop_status(desktop, auth_code)
    assert (answer["state"], answer["hint"], answer["frame"]) == ("pending", "confirm", None)
    assert answer["message"] == (
        "A phone (Safari on iOS) at 198.51.100.23 asks to sign in as you. Allow it only if it "
        "is your own phone."
    )
    wait = reverse("qrauth_handoff_wait", args=[token])
    assert status(phone, wait)["hint"] == "waiting"
    assert finish(phone, token).status_code == 200  # not allowed yet: still waiting
    assert SESSION_KEY not in phone.session

    page = decide(desktop, auth_code, "allow")
    html = page.content.decode()
    assert "Allowed. The phone is signing in" in html
    assert 'data-qrauth-tone="success"' in html  # this screen's part went well
    assert 'class="qrauth-button qrauth-primary" href="/">Go to the site' in html
    answer = status(phone, wait)
    assert (answer["state"], answer["hint"]) == ("complete", "approved")
    assert finish(phone, token)["Location"] == "/"
    assert phone.session[SESSION_KEY]
    again = finish(phone, token)  # used up: the phone is told, not signed in twice
    assert "You are signed in." in again.content.decode()
    assert [name for name, _, _ in sent].count("signed_in") == 1
    assert [name for name, _, _ in sent if name in ("approved", "denied")] == ["approved"]


def test_the_desktop_denies_and_nobody_signs_in(desktop, phone):
    auth_code, token = continue_on_the_phone(desktop, phone)
    page = decide(desktop, auth_code, "deny")
    assert "You denied the sign-in. Nobody was signed in." in page.content.decode()
    answer = status(phone, reverse("qrauth_handoff_wait", args=[token]))
    assert (answer["state"], answer["hint"]) == ("failed", "denied")
    assert "The other screen denied the sign-in" in answer["message"]
    finish(phone, token)
    assert SESSION_KEY not in phone.session
    assert desktop_status(desktop, auth_code)["hint"] == "denied"


def test_only_the_phone_that_asked_can_wait_and_finish(desktop, phone, alice):
    auth_code, token = continue_on_the_phone(desktop, phone)
    decide(desktop, auth_code, "allow")
    thief = Client()
    thief.get(reverse("qr_code_login", args=[token]))
    assert thief.get(reverse("qrauth_handoff_wait", args=[token])).status_code == 404
    assert finish(thief, token).status_code == 404
    assert thief.post(reverse("qr_code_login", args=[token]))["Location"] == INVALID
    assert SESSION_KEY not in thief.session
    assert finish(phone, token)["Location"] == "/"


def test_only_the_issuing_desktop_can_decide(desktop, phone, alice):
    from .helpers import browser_of

    auth_code, token = continue_on_the_phone(desktop, phone)
    other = browser_of(alice)  # the same user, another browser
    assert decide(other, auth_code, "allow").status_code == 404
    assert decide(desktop, auth_code, "maybe").status_code == 400
    assert status(phone, reverse("qrauth_handoff_wait", args=[token]))["hint"] == "waiting"


def test_a_second_phone_cannot_take_over_a_waiting_order(desktop, phone):
    auth_code, token = continue_on_the_phone(desktop, phone)
    other_phone = Client()
    path = reverse("qr_code_login", args=[token])
    assert other_phone.get(path)["Location"] == INVALID  # no longer open
    assert other_phone.post(path)["Location"] == INVALID


def test_the_desktop_page_has_the_allow_and_deny_buttons(desktop):
    html = desktop.get(reverse("qr_code_page")).content.decode()
    assert "data-qrauth-ask hidden" in html
    assert 'value="allow"' in html and 'value="deny"' in html


def test_without_desktop_confirmation_the_page_has_no_allow_form(desktop, settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = False
    html = desktop.get(reverse("qr_code_page")).content.decode()
    assert "data-qrauth-ask" not in html and 'value="allow"' not in html
    assert "data-qrauth-cancel" in html


def test_decide_needs_csrf(alice, phone):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    auth_code, _ = continue_on_the_phone(strict, phone)
    assert decide(strict, auth_code, "allow").status_code == 403


def test_the_desktop_can_cancel_while_a_phone_waits(desktop, phone):
    auth_code, token = continue_on_the_phone(desktop, phone)
    desktop.post(reverse("qrauth_cancel", args=[auth_code]))
    answer = status(phone, reverse("qrauth_handoff_wait", args=[token]))
    assert (answer["state"], answer["hint"]) == ("failed", "cancelled")
    finish(phone, token)
    assert SESSION_KEY not in phone.session
