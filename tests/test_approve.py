"""Approve: an anonymous desktop shows a code, a signed-in phone approves,
the desktop signs in as the phone's user, exactly once."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import django
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.test import Client
from django.urls import reverse

from qrauth import store, tokens
from qrauth.qr import render_png

from .helpers import (
    IPHONE_SAFARI,
    WINDOWS_CHROME,
    browser_of,
    collect,
    decode_png,
    everything_in_redis,
    open_signin,
    signed_in_as,
    status,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

INVALID = reverse("invalid_auth_code")
SIGNIN = reverse("qrauth_signin")
RESUME = reverse("qrauth_approve_resume")


def no_superusers(request, user, flow) -> bool:
    """A site's AUTH_QR_CODE_USER_POLICY: superusers sign in with a password."""
    return not user.is_superuser


@pytest.fixture
def computer():
    """A browser that is not signed in, on a desktop at 203.0.113.7."""
    return Client(HTTP_USER_AGENT=WINDOWS_CHROME, REMOTE_ADDR="203.0.113.7")


def phone_of(user, address: str = "203.0.113.50") -> Client:
    """A phone signed in as ``user``."""
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI, REMOTE_ADDR=address)
    phone.force_login(user)
    return phone


@pytest.fixture
def bobs_phone(bob):
    return phone_of(bob)


def scanned_path(browser: Client, auth_code: str) -> str:
    """What a phone's camera reads off the screen: the frame, drawn and decoded."""
    frame = status(browser, auth_code)["frame"]
    return urlsplit(decode_png(render_png(frame))).path


def approve(phone: Client, path: str, number: str | None = None, action: str = "approve"):
    data = {"action": action}
    if number is not None:
        data["number"] = number
    return phone.post(path, data)


def number_on_screen(browser: Client, auth_code: str) -> str:
    number = status(browser, auth_code)["number"]
    assert number and len(number) == 2 and number.isdigit()
    return number


def approved_by(phone: Client, computer: Client) -> str:
    """Open the sign-in page, let ``phone`` scan and approve; the auth_code."""
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    phone.get(path, follow=True)  # the approve page notes this phone: its number shows
    response = approve(phone, path, number_on_screen(computer, auth_code))
    assert "Approved" in response.content.decode()
    return auth_code


# -- the desktop's page --------------------------------------------------------------


def test_the_sign_in_page_shows_a_live_code_for_a_phone_to_approve(computer):
    response = computer.get(SIGNIN)
    assert "qrauth/signin.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert "<canvas" in html and 'aria-live="polite"' in html
    assert reverse("qrauth_collect", args=[response.context["auth_code"]]) in html
    answer = status(computer, response.context["auth_code"])
    assert (answer["state"], answer["hint"], answer["number"]) == ("pending", "not_scanned", None)
    assert answer["message"] == (
        "Scan the code with the camera of a phone on which you are signed in."
    )
    assert html.count("Scan") == 1  # the status line; the page's intro does not say it again
    assert answer["show_code"] is True
    assert urlsplit(answer["frame"]).path.startswith("/qr/approve/")
    assert "Get a new code" in html and "Try again" not in html  # nothing failed yet
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(("next_url", "expected"), [("", None), ("/account/", "/account/")])
def test_a_signed_in_browser_is_sent_on(bob, settings, next_url, expected):
    response = browser_of(bob).get(SIGNIN, {"next": next_url} if next_url else {})
    assert response.status_code == 302
    assert response["Location"] == (expected or settings.LOGIN_REDIRECT_URL)


# -- the whole flow ---------------------------------------------------------------


def test_a_phone_approves_and_the_desktop_signs_in_once_as_the_phones_user(
    computer, bobs_phone, alice, settings, clock
):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    scan = bobs_phone.get(path)
    assert scan["Location"] == RESUME  # the page itself has no token in its URL
    page = bobs_phone.get(RESUME)
    html = page.content.decode()
    assert "qrauth/approve.html" in [t.name for t in page.templates]
    assert "Sign in to testserver on another screen?" in html
    assert "bob" in html and "Chrome on Windows" in html and "203.0.113.7" in html
    assert "which looks like the same network as this phone" in html
    assert "just now" in html and "0 seconds ago" not in html  # the clock stands still here
    assert "If you did not just open this on a screen in front of you, deny." in html
    assert 'value="approve"' in html and 'value="deny"' in html

    answer = status(computer, auth_code)
    assert (answer["state"], answer["hint"]) == ("pending", "scanned")
    number = answer["number"]
    assert f"Type the number {number} on the phone" in answer["message"]

    response = approve(bobs_phone, path, number)
    assert response.status_code == 200
    assert "The other screen is signing in now" in response.content.decode()
    answer = status(computer, auth_code)
    assert (answer["state"], answer["hint"], answer["frame"]) == ("complete", "approved", None)
    assert signed_in_as(computer) is None  # the poll never signs in

    logins = []
    user_logged_in.connect(lambda **kw: logins.append(kw["user"]), weak=False, dispatch_uid="t")
    try:
        asked = collect(computer, auth_code)  # first the account is named
        assert asked.status_code == 200
        assert "qrauth/continue_as.html" in [t.name for t in asked.templates]
        assert "Continue as bob?" in asked.content.decode()
        assert signed_in_as(computer) is None and logins == []
        response = collect(computer, auth_code, confirm="account")
        assert response.status_code == 302
        assert response["Location"] == settings.LOGIN_REDIRECT_URL
        assert signed_in_as(computer) == "bob"
        assert computer.session["_auth_user_backend"] == "qrauth.backends.QRAuthBackend"
        assert collect(computer, auth_code, confirm="account").status_code == 404  # binding gone
    finally:
        user_logged_in.disconnect(dispatch_uid="t")
    assert [user.username for user in logins] == ["bob"]
    assert signed_in_as(bobs_phone) == "bob"  # the phone stays as it was


def test_collect_follows_a_safe_next_only(computer, bobs_phone, settings):
    settings.LOGIN_REDIRECT_URL = "/welcome/"
    auth_code = approved_by(bobs_phone, computer)
    assert collect(computer, auth_code, confirm="account", next="/account/")["Location"] == (
        "/account/"
    )
    other = Client()
    auth_code = approved_by(bobs_phone, other)
    evil = collect(other, auth_code, confirm="account", next="https://evil.example/")
    assert evil["Location"] == "/welcome/"


def test_get_and_head_change_nothing_but_the_scanned_mark(computer, bobs_phone, settings):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    order_id = tokens.parse_scan_token(path.strip("/").rsplit("/", 1)[1]).order_id
    assert bobs_phone.head(path)["Location"] == RESUME
    assert store.peek_order(order_id).state_name == "pending"
    for _ in range(3):
        assert bobs_phone.get(path, follow=True).status_code == 200
        prefetcher = Client()
        assert prefetcher.get(path)["Location"] == RESUME
        # a prefetcher: off to log in
        assert prefetcher.get(RESUME)["Location"] == f"{settings.LOGIN_URL}?next={RESUME}"
        assert bobs_phone.head(path)["Location"] == RESUME
        assert bobs_phone.head(RESUME).status_code == 200
    order = store.peek_order(order_id)
    assert (order.state_name, order.claimer, order.user_id) == ("scanned", "", "")
    assert approve(bobs_phone, path, number_on_screen(computer, auth_code)).status_code == 200


def test_a_phone_that_must_sign_in_first_keeps_its_fresh_scan(computer, bob, clock, settings):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI)
    response = phone.get(path)
    resume = reverse("qrauth_approve_resume")
    assert response["Location"] == resume
    response = phone.get(resume)
    assert response.status_code == 302
    assert response["Location"] == f"{settings.LOGIN_URL}?next={resume}"  # no token in it
    clock.now += 90  # typing a password takes a while; the frame is long stale
    assert phone.login(username="bob", password="bob-password")  # keeps the scan cookie
    assert "qrauth/approve.html" in [t.name for t in phone.get(resume).templates]
    assert approve(phone, resume, number_on_screen(computer, auth_code)).status_code == 200
    assert collect(computer, auth_code, confirm="account").status_code == 302
    assert signed_in_as(computer) == "bob"


def test_a_stale_frame_asks_to_scan_again(computer, bobs_phone, clock):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    clock.now += 13
    assert "The code on the screen has changed" in bobs_phone.get(path).content.decode()
    assert "The code on the screen has changed" in approve(bobs_phone, path, "10").content.decode()
    assert status(computer, auth_code)["hint"] == "not_scanned"  # nothing recorded


def test_the_phone_that_saw_a_frame_fresh_may_open_it_again(computer, bobs_phone, bob, clock):
    """A browser restoring its tab after an app switch opens the scanned link
    again, past the frame's tolerance: its own fresh scan vouches for it;
    the same link is stale to any other browser (a forwarded link)."""
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    assert bobs_phone.get(path)["Location"] == reverse("qrauth_approve_resume")
    clock.now += 60
    assert "on another screen?" in bobs_phone.get(path, follow=True).content.decode()
    forwarded = phone_of(bob, "198.51.100.9").get(path).content.decode()
    assert "The code on the screen has changed" in forwarded


def test_the_account_is_named_once_and_the_age_in_minutes(computer, bobs_phone, clock):
    """bob has no full name: "as bob", never "as bob (bob)"; a code shown
    two minutes ago is "2 minutes ago", not "120 seconds ago"."""
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    bobs_phone.get(path)  # fresh; the person reads for two minutes, then reloads
    clock.now += 125
    html = bobs_phone.get(RESUME).content.decode()
    assert "2 minutes ago" in html and "seconds ago" not in html
    approve(bobs_phone, path, number_on_screen(computer, auth_code))
    asked = collect(computer, auth_code).content.decode()
    assert "signing in this screen as bob. Continue only" in asked
    assert "bob (bob)" not in asked


# -- the first answer claims the order ---------------------------------------------


def test_a_second_phone_is_told_the_first_one_answered(computer, bobs_phone, alice):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    alices_phone = phone_of(alice)
    bobs_phone.get(path, follow=True)
    number = number_on_screen(computer, auth_code)  # bob's phone's own
    alices_phone.get(path, follow=True)
    assert approve(bobs_phone, path, number).status_code == 200
    for action in ("approve", "deny"):
        response = approve(alices_phone, path, number, action)
        assert response.status_code == 409
        assert "already handled on another device" in response.content.decode()
    page = alices_phone.get(path)
    assert page.status_code == 409
    collect(computer, auth_code, confirm="account")
    assert signed_in_as(computer) == "bob"


def test_a_third_session_of_the_same_user_cannot_answer_a_claimed_order(computer, bob):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    first, second = phone_of(bob), phone_of(bob)
    first.get(path, follow=True)
    approve(first, path, action="deny")
    response = approve(second, path, number_on_screen_or_none(computer, auth_code))
    assert response.status_code == 409  # strict equality of the session, not the user
    assert status(computer, auth_code)["hint"] == "denied"


def number_on_screen_or_none(browser: Client, auth_code: str) -> str:
    return status(browser, auth_code)["number"] or "00"


def test_the_phone_that_answered_is_told_its_answer_again(computer, bobs_phone, clock):
    auth_code = approved_by(bobs_phone, computer)
    path = scanned_path_of(auth_code)
    answers = (
        bobs_phone.get(path),
        bobs_phone.get(path, follow=True),
        approve(bobs_phone, path, action="deny"),
    )
    for response in answers:
        assert response.status_code == 200
        assert "The other screen is signing in now" in response.content.decode()
    assert status(computer, auth_code)["hint"] == "approved"  # the deny changed nothing


def scanned_path_of(auth_code: str) -> str:
    return reverse("qrauth_approve", args=[tokens.frame_token(auth_code, 0)])


# -- deny, wrong number ---------------------------------------------------------------


def test_deny_leaves_the_desktop_signed_out_and_says_so(computer, bobs_phone):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    bobs_phone.get(path, follow=True)
    response = approve(bobs_phone, path, action="deny")
    assert "<h1>Denied</h1>" in response.content.decode()
    assert "Nobody was signed in." in response.content.decode()
    answer = status(computer, auth_code)
    assert (answer["state"], answer["hint"]) == ("failed", "denied")
    assert answer["message"].startswith("The sign-in was denied on the phone.")
    page = collect(computer, auth_code, confirm="account")
    assert page.status_code == 200
    assert answer["message"] in page.content.decode()
    assert "Get a new code" in page.content.decode()
    assert signed_in_as(computer) is None


def test_one_wrong_number_denies_the_order(computer, bobs_phone):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    bobs_phone.get(path, follow=True)
    right = number_on_screen(computer, auth_code)
    wrong = "10" if right != "10" else "11"
    response = approve(bobs_phone, path, wrong)
    assert "That was not the number on the other screen" in response.content.decode()
    assert "someone may be trying to get into your account" in response.content.decode()
    answer = status(computer, auth_code)
    assert (answer["state"], answer["hint"]) == ("failed", "wrong_number")
    assert "A wrong number was typed on the phone" in answer["message"]
    approve(bobs_phone, path, right)  # no second try
    assert status(computer, auth_code)["hint"] == "wrong_number"
    collect(computer, auth_code, confirm="account")
    assert signed_in_as(computer) is None


def test_approving_without_the_number_is_a_wrong_number(computer, bobs_phone):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    bobs_phone.get(path, follow=True)
    approve(bobs_phone, path)
    assert status(computer, auth_code)["hint"] == "wrong_number"


def test_without_number_matching_the_phone_just_approves(computer, bobs_phone, settings):
    settings.AUTH_QR_CODE_NUMBER_MATCHING = False
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    assert 'name="number"' not in bobs_phone.get(path, follow=True).content.decode()
    answer = status(computer, auth_code)
    assert answer["number"] is None
    assert answer["message"] == (
        "Scanned on a phone (Safari on iOS). Check the details on the phone and approve the "
        "sign-in there."
    )
    approve(bobs_phone, path)
    collect(computer, auth_code, confirm="account")
    assert signed_in_as(computer) == "bob"


# -- only the issuing browser ----------------------------------------------------------


@pytest.mark.parametrize("who", ["another anonymous browser", "the approving phone"])
def test_status_collect_and_cancel_are_404_for_anyone_else(computer, bobs_phone, who):
    auth_code = approved_by(bobs_phone, computer)
    other = Client() if who == "another anonymous browser" else bobs_phone
    assert other.get(reverse("qrauth_status", args=[auth_code])).status_code == 404
    assert collect(other, auth_code).status_code == 404
    assert other.post(reverse("qrauth_cancel", args=[auth_code])).status_code == 404
    assert other.get(reverse("qrauth_signin_picture", args=[auth_code])).status_code == 404
    assert status(computer, auth_code)["hint"] == "approved"


def test_collecting_before_approval_shows_where_it_stands(computer, bobs_phone):
    auth_code = open_signin(computer)
    page = collect(computer, auth_code)
    assert page.status_code == 200
    assert "Scan the code with the camera of a phone" in page.content.decode()
    path = scanned_path(computer, auth_code)
    bobs_phone.get(path, follow=True)
    page = collect(computer, auth_code, confirm="account")
    number = page.context["number"]
    assert f"Type the number {number} on the phone" in page.content.decode()
    approve(bobs_phone, path, number)
    assert collect(computer, auth_code, confirm="account").status_code == 302
    assert signed_in_as(computer) == "bob"


def test_cancel_kills_the_order_and_goes_back_to_the_login_page(computer, bobs_phone):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    response = computer.post(reverse("qrauth_cancel", args=[auth_code]))
    assert response["Location"] == "/accounts/login/"
    assert status(computer, auth_code)["hint"] == "cancelled"
    assert bobs_phone.get(path)["Location"] == INVALID


def test_a_new_sign_in_page_replaces_the_previous_code(computer, bobs_phone):
    first = open_signin(computer)
    path = scanned_path(computer, first)
    open_signin(computer)
    assert bobs_phone.get(path)["Location"] == INVALID


# -- the approving user, between approval and collect -------------------------------------


def test_a_password_change_after_approval_refuses_the_collect(computer, bobs_phone, bob):
    auth_code = approved_by(bobs_phone, computer)
    bob.set_password("new-password")
    bob.save()
    page = collect(computer, auth_code, confirm="account")
    assert page.status_code == 403
    assert "cannot be signed in here with a phone" in page.content.decode()
    assert signed_in_as(computer) is None


def test_a_deactivated_user_after_approval_refuses_the_collect(computer, bobs_phone, bob):
    auth_code = approved_by(bobs_phone, computer)
    bob.is_active = False
    bob.save()
    assert collect(computer, auth_code, confirm="account").status_code == 403
    assert signed_in_as(computer) is None


# -- policy ----------------------------------------------------------------------------


def test_the_user_policy_keeps_superusers_out_of_both_flows(computer, settings):
    settings.AUTH_QR_CODE_USER_POLICY = f"{__name__}.no_superusers"
    root = get_user_model().objects.create_superuser("root", password="root-password")
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    phone = phone_of(root)
    assert phone.get(path, follow=True).status_code == 403
    assert approve(phone, path, number_on_screen_or_none(computer, auth_code)).status_code == 403
    assert status(computer, auth_code)["state"] == "pending"
    page = browser_of(root).get(reverse("qr_code_page"))
    assert page.status_code == 403
    assert "not available for this account" in page.content.decode()


def test_the_policy_is_asked_again_at_collect(computer, bobs_phone, settings):
    auth_code = approved_by(bobs_phone, computer)
    settings.AUTH_QR_CODE_USER_POLICY = f"{__name__}.nobody"
    assert collect(computer, auth_code, confirm="account").status_code == 403
    assert signed_in_as(computer) is None


def nobody(request, user, flow) -> bool:
    return False


@pytest.mark.parametrize("name", ["qrauth_signin", "qrauth_collect", "qrauth_approve"])
def test_the_approve_flow_can_be_turned_off(computer, settings, name):
    auth_code = open_signin(computer)
    settings.AUTH_QR_CODE_APPROVE_ENABLED = False
    args = [] if name == "qrauth_signin" else [auth_code]
    assert computer.get(reverse(name, args=args)).status_code in (404, 405)
    assert computer.post(reverse(name, args=args)).status_code == 404


def test_the_handoff_flow_can_be_turned_off(desktop, settings):
    settings.AUTH_QR_CODE_HANDOFF_ENABLED = False
    assert desktop.get(reverse("qr_code_page")).status_code == 404
    token = tokens.scan_token(tokens.new_secret())
    assert desktop.get(reverse("qr_code_login", args=[token])).status_code == 404


# -- tokens, pictures, round trips -----------------------------------------------------


def test_a_token_of_one_flow_does_not_work_in_the_other(computer, desktop, bobs_phone, phone):
    approve_code = open_signin(computer)
    approve_token = tokens.frame_token(approve_code, 0)
    assert phone.get(reverse("qr_code_login", args=[approve_token]))["Location"] == INVALID
    assert phone.post(reverse("qr_code_login", args=[approve_token]))["Location"] == INVALID
    handoff_code = desktop.get(reverse("qr_code_page")).context["auth_code"]
    handoff_token = tokens.frame_token(handoff_code, 0)
    path = reverse("qrauth_approve", args=[handoff_token])
    assert bobs_phone.get(path)["Location"] == INVALID
    assert approve(bobs_phone, path, "10")["Location"] == INVALID


def test_without_javascript_the_plain_image_works(computer, bobs_phone, clock):
    auth_code = open_signin(computer)
    static = reverse("qrauth_approve", args=[tokens.scan_token(auth_code)])
    assert bobs_phone.get(static)["Location"] == INVALID  # an approve order has no static code
    clock.now += 5
    picture = computer.get(reverse("qrauth_signin_picture", args=[auth_code]))
    assert picture["Content-Type"] == "image/png"
    path = urlsplit(decode_png(picture.content)).path
    assert path == reverse("qrauth_approve", args=[tokens.frame_token(auth_code, 5)])  # of now
    assert bobs_phone.get(static)["Location"] == INVALID  # the image minted no static code
    page = bobs_phone.get(path, follow=True)
    assert "qrauth/approve.html" in [t.name for t in page.templates]
    number = collect(computer, auth_code).context["number"]
    approve(bobs_phone, path, number)
    assert collect(computer, auth_code, confirm="account").status_code == 302
    assert signed_in_as(computer) == "bob"


def test_an_answer_must_be_approve_or_deny(computer, bobs_phone):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    assert approve(bobs_phone, path, action="maybe").status_code == 400
    assert status(computer, auth_code)["state"] == "pending"


def test_posts_need_csrf(computer, bob):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    phone = Client(enforce_csrf_checks=True)
    phone.force_login(bob)
    assert approve(phone, path, "10").status_code == 403
    strict_computer = Client(enforce_csrf_checks=True)
    code = open_signin(strict_computer)
    assert collect(strict_computer, code).status_code == 403


def test_round_trips_per_request(computer, bobs_phone, round_trips, clock):
    for _ in range(2):  # a whole sign-in, twice, loads every script into Redis
        browser = Client()
        collect(browser, approved_by(bobs_phone, browser), confirm="account")

    def trips(request) -> int:
        round_trips.count = 0
        request()
        return round_trips.count

    auth_code = ""

    def sign_in_page():
        nonlocal auth_code
        auth_code = open_signin(computer)

    assert trips(sign_in_page) == 1  # cancel the previous, count the limits, issue
    path = scanned_path_of(auth_code)
    assert trips(lambda: status(computer, auth_code)) == 1
    assert trips(lambda: bobs_phone.get(path)) == 1
    assert trips(lambda: bobs_phone.get(RESUME)) == 1
    number = number_on_screen(computer, auth_code)
    assert trips(lambda: approve(bobs_phone, path, number)) == 1
    assert trips(lambda: collect(computer, auth_code)) == 1  # "Continue as bob?"
    assert signed_in_as(computer) is None
    assert trips(lambda: collect(computer, auth_code, confirm="account")) == 1
    assert signed_in_as(computer) == "bob"


def test_redis_holds_nothing_usable(computer, bobs_phone, qr_redis):
    auth_code = approved_by(bobs_phone, computer)
    text = everything_in_redis(qr_redis)
    secrets = [
        auth_code,
        computer.session["qrauth_session"],
        bobs_phone.session["qrauth_claimer"],
        bobs_phone.session.session_key,
        computer.session.session_key,
    ]
    assert [secret for secret in secrets if secret in text] == []


def test_signals_along_an_approval_and_a_denial(computer, bobs_phone, bob, sent):
    auth_code = approved_by(bobs_phone, computer)
    collect(computer, auth_code)  # "Continue as bob?" signals nothing
    collect(computer, auth_code, confirm="account")
    names = [(name, sender) for name, sender, _ in sent]
    assert names == [
        ("issued", "approve"),
        ("scanned", "approve"),
        ("approved", "approve"),
        ("signed_in", "approve"),
    ]
    kwargs = {name: kw for name, _, kw in sent}
    assert kwargs["issued"]["user"] is None
    assert kwargs["approved"]["user"] == bob
    assert kwargs["approved"]["device"] == "Safari on iOS"
    assert kwargs["signed_in"]["user"] == bob
    refs = {kw["order_ref"] for kw in kwargs.values()}
    assert refs == {tokens.order_ref(auth_code)}

    sent.clear()
    other = Client()
    auth_code = open_signin(other)
    path = scanned_path(other, auth_code)
    bobs_phone.get(path, follow=True)
    approve(bobs_phone, path, "xx")
    [(name, _, kw)] = [entry for entry in sent if entry[0] == "denied"]
    assert (kw["reason"], kw["user"]) == ("wrong_number", bob)


def test_scan_tokens_stay_out_of_djangos_own_log_lines(computer, bobs_phone, caplog):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    static = reverse("qrauth_approve", args=[tokens.scan_token(auth_code)])
    order_id, code = tokens.scan_token(auth_code).split(".")
    mangled = reverse("qrauth_approve", args=[f"{order_id}.0.{code}"])  # still holds the code
    strict_phone = Client(enforce_csrf_checks=True)
    with caplog.at_level(logging.INFO):
        assert approve(bobs_phone, path, action="maybe").status_code == 400
        assert bobs_phone.put(path).status_code == 405
        assert bobs_phone.put(mangled).status_code == 405
        assert strict_phone.post(static).status_code == 403  # CSRF
    lines = [record.getMessage() for record in caplog.records]
    assert any("<qrauth token>" in line for line in lines)
    tokens_in_logs = [line for line in lines if auth_code in line or code in line]
    assert tokens_in_logs == []


def test_a_refused_collect_stays_refused(computer, bobs_phone, bob):
    auth_code = approved_by(bobs_phone, computer)
    bob.set_password("new-password")
    bob.save()
    assert collect(computer, auth_code).status_code == 403  # not even "Continue as bob?"
    answer = status(computer, auth_code)  # what the page's script sees next
    assert (answer["state"], answer["hint"]) == ("failed", "refused")
    again = collect(computer, auth_code, confirm="account")  # or Continue, pressed again
    assert "cannot be signed in here with a phone" in again.content.decode()
    assert signed_in_as(computer) is None


def test_a_browser_signed_in_meanwhile_is_not_switched_to_the_approver(computer, bobs_phone, alice):
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    assert computer.login(username="alice", password="alice-password")  # keeps the binding
    bobs_phone.get(path, follow=True)
    approve(bobs_phone, path, number_on_screen(computer, auth_code))
    assert status(computer, auth_code)["hint"] == "approved"
    collect(computer, auth_code, confirm="account")
    assert signed_in_as(computer) == "alice"
    assert bobs_phone.get(path).status_code in (200, 302)  # told, or sent to the invalid page


def test_collect_gives_the_browser_a_new_session(computer, bobs_phone):
    auth_code = open_signin(computer)
    before = computer.cookies["sessionid"].value
    approve_and_collect = approved_by(bobs_phone, computer)
    collect(computer, approve_and_collect, confirm="account")
    assert signed_in_as(computer) == "bob"
    assert computer.cookies["sessionid"].value != before
    assert auth_code != approve_and_collect  # approved_by opened a new code


@pytest.mark.skipif(django.VERSION < (5, 1), reason="LoginRequiredMiddleware is Django 5.1+")
def test_the_approve_flow_gets_through_login_required_middleware(computer, bob, settings):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    assert computer.get(reverse("qrauth_signin_picture", args=[auth_code])).status_code == 200
    phone = phone_of(bob)
    assert phone.get(path, follow=True).status_code == 200
    approve(phone, path, number_on_screen(computer, auth_code))
    assert collect(computer, auth_code).status_code == 200  # "Continue as bob?"
    assert collect(computer, auth_code, confirm="account").status_code == 302
    assert signed_in_as(computer) == "bob"
    other = Client()
    code = open_signin(other)
    assert other.post(reverse("qrauth_cancel", args=[code]))["Location"] == "/accounts/login/"


def test_resuming_without_a_scan_is_the_invalid_page(bobs_phone):
    assert bobs_phone.get(reverse("qrauth_approve_resume"))["Location"] == INVALID


def test_behind_a_trusted_proxy_the_forwarded_addresses_are_shown(bob, settings):
    settings.AUTH_QR_CODE_TRUSTED_PROXIES = 1
    computer = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    phone = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.50")
    phone.force_login(bob)
    html = phone.get(path, follow=True).content.decode()
    assert "203.0.113.7" in html
    assert "which looks like the same network as this phone" in html


# -- a code a phone has open is no longer shown ------------------------------------------


def test_a_code_a_signed_in_phone_has_open_is_no_longer_shown(computer, bobs_phone, clock):
    """As WhatsApp and BankID do: once a signed-in phone shows the details,
    the screen shows the number, not the code, so that a second person
    cannot scan it over the shoulder; the server hands out no frame for it."""
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    Client().get(path, follow=True)  # a prefetcher, or a phone that must sign in first
    answer = status(computer, auth_code)
    assert (answer["hint"], answer["show_code"]) == ("scanned", True)
    assert answer["frame"]
    bobs_phone.get(path, follow=True)
    answer = status(computer, auth_code)
    assert (answer["state"], answer["hint"]) == ("pending", "scanned")
    assert (answer["show_code"], answer["frame"]) == (False, None)
    assert answer["number"]
    picture = reverse("qrauth_signin_picture", args=[auth_code])
    assert computer.get(picture).status_code == 404
    page = computer.get(SIGNIN, {"code": auth_code})  # the page reloading without JavaScript
    html = page.content.decode()
    assert page.context["looked_at"] is True
    assert "<canvas" not in html and picture not in html and 'http-equiv="refresh"' in html
    assert answer["number"] in html

    clock.now += 13  # a photo of a frame from before: stale, as ever
    other = phone_of(get_user_model().objects.create_user("mallory"))
    assert "The code on the screen has changed" in other.get(path).content.decode()
    assert approve(bobs_phone, path, answer["number"]).status_code == 200
    assert status(computer, auth_code)["hint"] == "approved"


def test_the_phones_answer_pages_have_a_way_back_to_the_site(computer, bob, settings):
    settings.AUTH_QR_CODE_REDIRECT_URL = "/welcome/"
    pages = {}
    for action, number in (("approve", None), ("deny", None), ("approve", "00")):
        browser = Client()
        auth_code = open_signin(browser)
        path = scanned_path(browser, auth_code)
        phone = phone_of(bob)
        phone.get(path, follow=True)
        if action == "approve" and number is None:
            number = number_on_screen(browser, auth_code)
        pages[(action, number == "00")] = approve(phone, path, number, action).content.decode()
    approved, denied, wrong = pages.values()
    assert "<h1>Approved</h1>" in approved
    assert "The other screen is signing in now; you can put the phone away." in approved
    assert "Approved." not in approved  # the heading says it once
    assert "<h1>Denied</h1>" in denied
    assert "That was not the number on the other screen" in wrong
    for html in (approved, denied, wrong):
        assert 'href="/welcome/">Go to the site</a>' in html
    assert 'data-qrauth-tone="success"' in approved
    assert 'data-qrauth-tone="failure"' in denied and 'data-qrauth-tone="failure"' in wrong


def test_the_number_field_says_what_it_wants(computer, bobs_phone):
    auth_code = open_signin(computer)
    html = bobs_phone.get(scanned_path(computer, auth_code), follow=True).content.decode()
    assert 'pattern="[0-9]{2}"' in html
    assert 'data-qrauth-invalid="Type the two-digit number shown on the other screen."' in html
    assert "qrauth/number.js" in html


def test_the_plain_image_takes_one_round_trip(computer, round_trips):
    """Whether a phone has the code open is PICTURE's to say, in the same
    round trip that finds the order."""
    auth_code = open_signin(computer)
    round_trips.count = 0
    picture = computer.get(reverse("qrauth_signin_picture", args=[auth_code]))
    assert picture.status_code == 200
    assert round_trips.count == 1
