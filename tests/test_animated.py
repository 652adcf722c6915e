"""Animated codes and the live status of the QR page."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from qrauth import store, tokens

from .helpers import browser_of, open_qr_page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

INVALID = reverse("invalid_auth_code")


def status(browser: Client, auth_code: str) -> dict:
    response = browser.get(reverse("qrauth_status", args=[auth_code]))
    assert response.status_code == 200, response.status_code
    assert "no-store" in response["Cache-Control"]
    return json.loads(response.content)


def frame_path(browser: Client, auth_code: str) -> str:
    return urlsplit(status(browser, auth_code)["frame"]).path


# -- the frame code ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (0, "dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8"),
        (1, "949d559bf23403952a94d103e67743126381eda00f0b3cbddbf7c96b1adcbce2"),
        (2, "a9e5ec59cb4eee4ef4117150abc58fad7a85439a6a96ccbecc3668b41795b3f3"),
    ],
)
def test_qr_auth_code_matches_bankids_published_example(elapsed, expected):
    assert tokens.qr_auth_code("d28db9a7-4cde-429e-a983-359be676944c", elapsed) == expected


def test_frame_tokens_parse_and_refuse_tampering():
    order_id = tokens.new_secret()
    token = tokens.frame_token(order_id, 17)
    assert tokens.parse_scan_token(token) == tokens.ScanToken(order_id, 17)
    other = tokens.new_secret()
    for forged in (
        tokens.frame_token(order_id, 18).replace(".18.", ".17."),  # another second's code
        f"{other}.17.{token.rsplit('.', 1)[1]}",  # another order's code
        token.replace(".17.", ".017."),
        token.replace(".17.", ".１７."),
        f"{order_id}.100000.{tokens.qr_auth_code(tokens.frame_secret(order_id), 100000)}",
    ):
        assert tokens.parse_scan_token(forged) is None


# -- the status endpoint ---------------------------------------------------------------


def test_status_of_a_new_code(desktop, clock):
    auth_code = open_qr_page(desktop)
    answer = status(desktop, auth_code)
    assert answer["state"] == "pending"
    assert answer["hint"] == "not_scanned"
    assert answer["message"] == "Scan the code with your phone's camera."
    assert 295 <= answer["expires_in"] <= 300
    assert answer["frame"] == "http://testserver" + reverse(
        "qr_code_login", args=[tokens.frame_token(auth_code, 0)]
    )


def test_frames_change_every_second(desktop, clock):
    auth_code = open_qr_page(desktop)
    seen = set()
    for _ in range(3):
        seen.add(status(desktop, auth_code)["frame"])
        clock.now += 1
    assert len(seen) == 3


def test_status_follows_the_phone(desktop, phone, clock):
    auth_code = open_qr_page(desktop)
    path = frame_path(desktop, auth_code)
    phone.get(path)
    answer = status(desktop, auth_code)
    assert (answer["state"], answer["hint"]) == ("pending", "scanned")
    assert answer["message"] == (
        "Scanned on a phone (Safari on iOS). Press Continue on the phone to sign in."
    )
    phone.post(path)
    answer = status(desktop, auth_code)
    assert (answer["state"], answer["hint"], answer["frame"]) == ("complete", "signed_in", None)
    assert answer["message"] == "Signed in on a phone (Safari on iOS)."


def test_status_after_cancel_and_expiry(desktop, qr_redis):
    auth_code = open_qr_page(desktop)
    response = desktop.post(reverse("qrauth_cancel", args=[auth_code]))
    assert response.status_code == 302
    answer = status(desktop, auth_code)
    assert (answer["state"], answer["hint"], answer["frame"]) == ("failed", "cancelled", None)
    auth_code = open_qr_page(desktop)
    qr_redis.delete(store.order_key(auth_code))
    answer = status(desktop, auth_code)
    assert (answer["state"], answer["hint"]) == ("failed", "expired")
    assert answer["message"] == "The code has expired. Get a new code to try again."


@pytest.mark.parametrize("who", ["anonymous", "same user, other browser", "unknown code"])
def test_status_and_cancel_are_404_for_anyone_else(desktop, alice, who):
    auth_code = open_qr_page(desktop)
    other = browser_of(alice) if who == "same user, other browser" else Client()
    if who == "unknown code":
        other, auth_code = desktop, tokens.new_secret()
    assert other.get(reverse("qrauth_status", args=[auth_code])).status_code == 404
    assert other.post(reverse("qrauth_cancel", args=[auth_code])).status_code == 404


def test_cancel_is_post_only(desktop):
    auth_code = open_qr_page(desktop)
    assert desktop.get(reverse("qrauth_cancel", args=[auth_code])).status_code == 405
    assert status(desktop, auth_code)["state"] == "pending"


def test_status_takes_one_round_trip_and_only_the_session_query(
    desktop, round_trips, django_assert_num_queries
):
    auth_code = open_qr_page(desktop)
    status(desktop, auth_code)  # loads the script
    round_trips.count = 0
    # The poll runs every second for every waiting screen: it must not load
    # the user, only the session that holds the binding.
    with django_assert_num_queries(1):
        status(desktop, auth_code)
    assert round_trips.count == 1


def test_scanning_a_frame_takes_one_round_trip_per_request(desktop, phone, round_trips, clock):
    for _ in range(2):  # a whole sign-in, twice, loads every script into Redis
        auth_code = open_qr_page(desktop)
        path = frame_path(desktop, auth_code)
        Client().get(path)
        Client().head(path)
        Client().post(path)
    auth_code = open_qr_page(desktop)
    path = frame_path(desktop, auth_code)
    for method in (phone.get, phone.head, phone.post):
        round_trips.count = 0
        method(path)
        assert round_trips.count == 1, method.__name__
    assert phone.session[SESSION_KEY]


def test_status_while_redis_is_down_is_json(desktop, settings):
    auth_code = open_qr_page(desktop)
    store._breaker._failed(ConnectionError("down"))  # the breaker is open
    response = desktop.get(reverse("qrauth_status", args=[auth_code]))
    assert response.status_code == 503
    assert json.loads(response.content)["hint"] == "unavailable"


# -- scanning animated frames --------------------------------------------------------


def test_a_fresh_frame_signs_in(desktop, phone, clock):
    auth_code = open_qr_page(desktop)
    clock.now += 4
    path = frame_path(desktop, auth_code)
    clock.now += 5  # the phone opens it a few seconds later
    assert "Sign in as alice" in phone.get(path, follow=True).content.decode()
    assert phone.post(path)["Location"] == "/"
    assert phone.session[SESSION_KEY]


def test_a_stale_frame_asks_to_scan_again_and_keeps_the_order(desktop, phone, clock):
    auth_code = open_qr_page(desktop)
    path = frame_path(desktop, auth_code)
    clock.now += 13  # the default tolerance is 12 s
    response = phone.get(path)
    assert response.status_code == 200
    assert "The code on the screen has changed" in response.content.decode()
    assert Client().post(path)["Location"] == INVALID  # stale and never seen fresh
    fresh = frame_path(desktop, auth_code)
    phone.get(fresh)
    assert phone.post(fresh)["Location"] == "/"


def test_a_frame_from_the_future_is_refused(desktop, phone, clock):
    auth_code = open_qr_page(desktop)
    path = reverse("qr_code_login", args=[tokens.frame_token(auth_code, 30)])
    assert "The code on the screen has changed" in phone.get(path).content.decode()


def test_confirming_after_the_tolerance_needs_a_fresh_get(desktop, phone, clock):
    auth_code = open_qr_page(desktop)
    path = frame_path(desktop, auth_code)
    phone.get(path)  # fresh
    clock.now += 120  # the person reads slowly; the order still lives
    assert phone.post(path)["Location"] == "/"
    assert phone.session[SESSION_KEY]


def test_a_fresh_scan_vouches_for_its_own_frame_only(desktop, phone, clock):
    auth_code = open_qr_page(desktop)
    seen = frame_path(desktop, auth_code)
    clock.now += 1
    other = frame_path(desktop, auth_code)
    phone.get(seen)
    clock.now += 60
    assert phone.post(other)["Location"] == INVALID  # stale, and not the frame seen
    assert SESSION_KEY not in phone.session


def test_the_voucher_is_a_signed_cookie_for_the_scan_urls_only(desktop, phone):
    path = frame_path(desktop, open_qr_page(desktop))
    response = phone.get(path)
    assert response["Location"] == reverse("qrauth_continue")  # no token in the address bar
    voucher = response.cookies["qrauth_scan"]
    assert voucher["path"] == "/qr/"  # not the scan URL: it must not carry the token on
    assert voucher["httponly"] and voucher["samesite"] == "Lax"
    assert voucher["max-age"] == 300  # the order's life (AUTH_QR_CODE_EXPIRATION_TIME)
    token = path.strip("/").rsplit("/", 1)[-1]
    assert token not in voucher.value and token.split(".")[-1] not in voucher.value
    assert voucher.value.startswith(token.rsplit(".", 1)[0] + ":")  # the order id and frame
    assert "sessionid" not in phone.cookies  # no session (and no database write) for it


def test_continue_uses_the_voucher_up(desktop, phone, clock):
    path = frame_path(desktop, open_qr_page(desktop))
    phone.get(path)
    response = phone.post(path)
    assert response["Location"] == "/"
    assert response.cookies["qrauth_scan"]["max-age"] == 0
    assert phone.cookies["qrauth_scan"].value == ""


def test_an_unsigned_voucher_cookie_does_not_vouch(desktop, phone, clock):
    path = frame_path(desktop, open_qr_page(desktop))
    token = path.strip("/").rsplit("/", 1)[-1]
    phone.cookies["qrauth_scan"] = token.rsplit(".", 1)[0]  # order id and frame, no signature
    clock.now += 60
    assert phone.post(path)["Location"] == INVALID


def test_a_head_does_not_vouch_for_a_frame(desktop, phone, clock):
    auth_code = open_qr_page(desktop)
    path = frame_path(desktop, auth_code)
    phone.head(path)
    clock.now += 60
    assert phone.post(path)["Location"] == INVALID


def test_the_frame_tolerance_setting(desktop, phone, clock, settings):
    settings.AUTH_QR_CODE_FRAME_TOLERANCE = 3
    auth_code = open_qr_page(desktop)
    path = frame_path(desktop, auth_code)
    clock.now += 3
    assert "Sign in as alice" in phone.get(path, follow=True).content.decode()
    clock.now += 1
    assert "has changed" in Client().get(path).content.decode()


# -- the page --------------------------------------------------------------------------


def test_the_animated_page_never_exposes_a_long_lived_code(desktop, phone):
    auth_code = open_qr_page(desktop)
    status(desktop, auth_code)
    static = reverse("qr_code_login", args=[tokens.scan_token(auth_code)])
    assert phone.post(static)["Location"] == INVALID  # not minted: the image was not shown


def test_the_page_runs_without_inline_script(desktop):
    html = desktop.get(reverse("qr_code_page")).content.decode()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts)
    assert not re.search(r"<script[^>]*>\s*[^<\s]", html)  # no script body
    assert 'aria-live="polite"' in html
    assert "<noscript><img" in html  # the no-JavaScript fallback


def test_a_site_can_turn_animation_off(desktop, settings):
    settings.AUTH_QR_CODE_ANIMATED = False
    page = desktop.get(reverse("qr_code_page"))
    assert "<canvas" not in page.content.decode()
    assert status(desktop, page.context["auth_code"])["frame"] is None


def test_reloading_the_question_within_the_order_life_keeps_continue(desktop, phone, clock):
    """iOS Safari reloads a tab after an app switch: long after the frame's
    tolerance, the phone still saw the code fresh (its scan cookie says
    so), so the question and its Continue button stay."""
    path = frame_path(desktop, open_qr_page(desktop))
    assert phone.get(path)["Location"] == reverse("qrauth_continue")
    clock.now += 120  # the person switched apps; the order still lives
    for reload in (reverse("qrauth_continue"), path):  # the page, or the scanned link again
        page = phone.get(reload, follow=True).content.decode()
        assert "Sign in as alice" in page, reload
        assert "The code on the screen has changed" not in page
    assert phone.post(reverse("qrauth_continue"))["Location"] == "/"
    assert phone.session[SESSION_KEY]
