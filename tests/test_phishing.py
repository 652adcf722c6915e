"""Attacks on the approve flow by someone who is not live, and the defences
of issue 13 that go with them: each test plays the attack as an attacker
would and shows that it now signs nobody in.

The attacker opens the sign-in page on their own computer and wants a
victim, who is signed in on their phone, to approve it later ("scan this
and type 37"). Also here: step-up before approving, the desktop naming the
account before it becomes it, orders edited in Redis, scan URLs that leave
no token behind, and links from other sites."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from qrauth import store, tokens
from qrauth.qr import render_png

from .helpers import (
    browser_of,
    collect,
    decode_png,
    open_qr_page,
    open_signin,
    signed_in_as,
    status,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

SIGNIN = reverse("qrauth_signin")
APPROVE_PAGE = reverse("qrauth_approve_resume")
CONTINUE_PAGE = reverse("qrauth_continue")
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def phone_of(user=None) -> Client:
    """A phone, signed in as ``user`` (or not signed in)."""
    phone = Client(HTTP_USER_AGENT=IPHONE, REMOTE_ADDR="203.0.113.50")
    if user is not None:
        phone.force_login(user)
    return phone


@pytest.fixture
def mallory(db):
    return get_user_model().objects.create_user("mallory", password="mallory-password")


@pytest.fixture
def attacker():
    """The attacker's computer, not signed in."""
    return Client(REMOTE_ADDR="198.51.100.66")


def plain_image_path(browser: Client, auth_code: str) -> str:
    """What the no-JS image of an approve order says, decoded."""
    response = browser.get(reverse("qrauth_signin_picture", args=[auth_code]))
    assert response.status_code == 200
    return urlsplit(decode_png(response.content)).path


def frame_path(browser: Client, auth_code: str) -> str:
    frame = status(browser, auth_code)["frame"]
    return urlsplit(decode_png(render_png(frame))).path


def answer(phone: Client, number: str, action: str = "approve"):
    return phone.post(APPROVE_PAGE, {"action": action, "number": number})


def approved_by(phone: Client, computer: Client) -> str:
    auth_code = open_signin(computer)
    path = frame_path(computer, auth_code)
    phone.get(path, follow=True)
    assert "Approved" in answer(phone, status(computer, auth_code)["number"]).content.decode()
    return auth_code


def order_hash(auth_code: str) -> dict:
    raw = store.get_redis().hgetall(store.order_key(auth_code))
    return {key.decode(): value.decode() for key, value in raw.items()}


# -- asynchronous phishing ---------------------------------------------------------


def test_the_attack_replayed_in_full_signs_the_attacker_in_nowhere(attacker, bob, mallory, clock):
    """Open the page, scan one's own code anonymously, read the number, send
    "scan this and type <number>" to a victim who acts minutes later."""
    auth_code = open_signin(attacker)
    path = plain_image_path(attacker, auth_code)  # the no-JS image
    phone_of().get(path, follow=True)  # the attacker's own phone, anonymous
    seen = status(attacker, auth_code)
    assert seen["number"] is None  # an anonymous scan reveals no number
    # ... or with a phone signed in to the attacker's own account:
    phone_of(mallory).get(path, follow=True)
    number = status(attacker, auth_code)["number"]
    assert number

    clock.now += 120  # the victim reads the message two minutes later
    victim = phone_of(bob)
    page = victim.get(path, follow=True)
    assert "qrauth/stale_code.html" in [t.name for t in page.templates]
    answer(victim, number)
    assert collect(attacker, auth_code, confirm="account").status_code == 200
    assert signed_in_as(attacker) is None
    assert order_hash(auth_code)["s"] == "s"  # nobody approved anything


def test_the_plain_image_of_an_approve_code_goes_stale_in_seconds(attacker, bob, clock, settings):
    settings.AUTH_QR_CODE_FRAME_TOLERANCE = 12
    auth_code = open_signin(attacker)
    path = plain_image_path(attacker, auth_code)
    clock.now += 13
    page = phone_of(bob).get(path, follow=True)
    assert "qrauth/stale_code.html" in [t.name for t in page.templates]
    # Within the tolerance it works, and the phone that saw it fresh may
    # answer later, within the order's life.
    path = plain_image_path(attacker, auth_code)
    clock.now += 12
    victim = phone_of(bob)
    assert "qrauth/approve.html" in [t.name for t in victim.get(path, follow=True).templates]


def test_a_static_code_of_an_approve_order_works_never(attacker, bob):
    auth_code = open_signin(attacker)
    plain_image_path(attacker, auth_code)
    static = reverse("qrauth_approve", args=[tokens.scan_token(auth_code)])
    response = phone_of(bob).get(static)
    assert response["Location"] == reverse("invalid_auth_code")


def test_the_no_js_page_reloads_itself_with_the_same_order(attacker, settings):
    settings.AUTH_QR_CODE_FRAME_TOLERANCE = 12
    page = attacker.get(SIGNIN)
    auth_code = page.context["auth_code"]
    html = page.content.decode()
    refresh = f'<meta http-equiv="refresh" content="6;url={SIGNIN}?code={auth_code}">'
    assert f"<noscript>{refresh}</noscript>" in html
    again = attacker.get(SIGNIN, {"code": auth_code})
    assert again.context["auth_code"] == auth_code  # no new order
    assert refresh in again.content.decode()
    other = Client().get(SIGNIN, {"code": auth_code})  # not this browser's order
    assert other.context["auth_code"] != auth_code


def test_no_js_approve_page_stops_reloading_when_done(attacker, bob):
    auth_code = approved_by(phone_of(bob), attacker)
    page = attacker.get(SIGNIN, {"code": auth_code})
    assert page.context["auth_code"] == auth_code and page.context["closed"]
    assert 'http-equiv="refresh"' not in page.content.decode()
    assert "Approved" in page.content.decode()


def test_a_plain_approve_code_is_redrawn_in_place_with_javascript(attacker, settings):
    """AUTH_QR_CODE_ANIMATED = False: the refresh is only for a page without
    JavaScript; page.js redraws the image instead of reloading the page."""
    settings.AUTH_QR_CODE_ANIMATED = False
    html = attacker.get(SIGNIN).content.decode()
    assert '<noscript><meta http-equiv="refresh"' in html
    assert 'data-qrauth-refresh="6"' in html


def test_an_anonymous_scan_reveals_no_number_and_claims_nothing(attacker, bob):
    auth_code = open_signin(attacker)
    path = frame_path(attacker, auth_code)
    stranger = phone_of()
    response = stranger.get(path, follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    answer_now = status(attacker, auth_code)
    assert (answer_now["hint"], answer_now["number"]) == ("scanned", None)
    assert "c" not in order_hash(auth_code) and "v" not in order_hash(auth_code)
    # A signed-in phone still can: the order was not claimed.
    victim = phone_of(bob)
    victim.get(path, follow=True)
    number = status(attacker, auth_code)["number"]
    assert "Approved" in answer(victim, number).content.decode()


def test_a_number_read_before_the_victims_scan_is_worthless(attacker, bob, mallory):
    """The attacker scans with their own account and relays the frame (not
    live: without the number the victim's scan then shows)."""
    for _ in range(5):  # one in 90 the two sessions' numbers are the same
        auth_code = open_signin(attacker)
        path = frame_path(attacker, auth_code)
        phone_of(mallory).get(path, follow=True)
        learned = status(attacker, auth_code)["number"]
        victim = phone_of(bob)
        victim.get(path, follow=True)
        if status(attacker, auth_code)["number"] != learned:
            break
    page = answer(victim, learned)
    assert "That was not the number on the other screen" in page.content.decode()
    assert order_hash(auth_code)["s"] == "w"
    collect(attacker, auth_code, confirm="account")
    assert signed_in_as(attacker) is None


def test_the_number_shown_is_the_last_signed_in_scanners_own(attacker, bob):
    auth_code = open_signin(attacker)
    path = frame_path(attacker, auth_code)
    victim = phone_of(bob)
    victim.get(path, follow=True)
    claimer = order_hash(auth_code)["v"]
    assert status(attacker, auth_code)["number"] == tokens.match_number(auth_code, claimer)
    assert "n" in order_hash(auth_code) and order_hash(auth_code)["n"] == "1"  # no number kept


# -- step-up -----------------------------------------------------------------------


@pytest.fixture
def stale_phone(bob, clock, settings):
    """bob's phone, signed in with his password 10 minutes ago; step-up at 5."""
    settings.AUTH_QR_CODE_STEP_UP_AGE = 300
    phone = Client(HTTP_USER_AGENT=IPHONE)
    assert phone.login(username="bob", password="bob-password")
    clock.now += 600
    return phone


def test_an_old_login_steps_up_before_it_may_approve(attacker, stale_phone, clock):
    auth_code = open_signin(attacker)
    path = frame_path(attacker, auth_code)
    response = stale_phone.get(path, follow=True)
    step_up = reverse("qrauth_step_up")
    assert response.redirect_chain[-1][0] == f"{step_up}?next={APPROVE_PAGE}"
    assert status(attacker, auth_code)["number"] is None  # it looked, it may not answer
    refused = answer(stale_phone, "10")
    assert refused.status_code == 403
    assert order_hash(auth_code)["s"] in ("p", "s") and "c" not in order_hash(auth_code)
    # After the password, the same scan goes on.
    back = stale_phone.post(step_up, {"password": "bob-password", "next": APPROVE_PAGE})
    assert back["Location"] == APPROVE_PAGE
    assert "qrauth/approve.html" in [t.name for t in stale_phone.get(APPROVE_PAGE).templates]
    number = status(attacker, auth_code)["number"]
    assert "Approved" in answer(stale_phone, number).content.decode()


def test_a_session_that_qrauth_signed_in_is_no_fresh_authentication(
    alice, bob, attacker, settings, clock
):
    settings.AUTH_QR_CODE_STEP_UP_AGE = 300
    desktop = Client()
    assert desktop.login(username="alice", password="alice-password")
    auth_code = open_qr_page(desktop)
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    phone = phone_of()
    phone.get(path, follow=True)
    assert phone.post(CONTINUE_PAGE)["Location"] == "/"
    assert signed_in_as(phone) == "alice"
    # Straight away, the QR-made session may neither show a hand-off code...
    assert phone.get(reverse("qr_code_page"))["Location"].startswith(reverse("qrauth_step_up"))
    # ... nor approve a sign-in elsewhere.
    code = open_signin(attacker)
    response = phone.get(frame_path(attacker, code), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("qrauth_step_up"))
    assert answer(phone, "10").status_code == 403


# -- the desktop names the account before it becomes it ------------------------------


def test_the_desktop_asks_continue_as_before_it_signs_in(attacker, bob):
    """A screen shared or seen over a shoulder: a stranger scans it with
    their own account and types the number; the desktop says whose account
    it would become, and nothing happens without a click."""
    auth_code = approved_by(phone_of(bob), attacker)
    page = collect(attacker, auth_code)  # what page.js sends once approved
    assert page.status_code == 200
    assert "Continue as bob?" in page.content.decode()
    assert signed_in_as(attacker) is None
    assert order_hash(auth_code)["s"] == "a"  # still to be taken
    cancel = attacker.post(reverse("qrauth_cancel", args=[auth_code]))
    assert cancel.status_code == 302 and signed_in_as(attacker) is None
    assert collect(attacker, auth_code, confirm="account").status_code == 200
    assert signed_in_as(attacker) is None


def test_continue_as_signs_in_on_the_click(attacker, bob, settings):
    auth_code = approved_by(phone_of(bob), attacker)
    response = collect(attacker, auth_code, confirm="account")
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
    assert signed_in_as(attacker) == "bob"


def test_the_click_can_be_turned_off(attacker, bob, settings):
    settings.AUTH_QR_CODE_CONFIRM_ACCOUNT = False
    auth_code = approved_by(phone_of(bob), attacker)
    assert collect(attacker, auth_code)["Location"] == settings.LOGIN_REDIRECT_URL
    assert signed_in_as(attacker) == "bob"


def test_a_phone_signed_in_as_another_account_is_told_before_it_switches(alice, bob):
    desktop = browser_of(alice)
    auth_code = open_qr_page(desktop)
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    page = phone_of(bob).get(path, follow=True)
    assert "You are signed in here as bob." in page.content.decode()
    own = browser_of(alice).get(path, follow=True)
    assert "You are signed in here as" not in own.content.decode()


# -- orders edited in Redis ------------------------------------------------------------


def test_an_approve_order_stitched_from_another_signs_nobody_in(attacker, bob, sent):
    """With write access to a shared Redis: copy the user, auth digest and
    seal of bob's approved order into one's own, and collect."""
    victims = approved_by(phone_of(bob), Client())
    auth_code = open_signin(attacker)
    donor = order_hash(victims)
    stitched = {name: donor[name] for name in ("u", "a", "z", "c")}
    store.get_redis().hset(store.order_key(auth_code), mapping={**stitched, "s": "a"})
    collect(attacker, auth_code, confirm="account")
    assert signed_in_as(attacker) is None
    assert ("rejected", "approve", "tampered") in [
        (name, sender, kwargs.get("reason")) for name, sender, kwargs in sent
    ]


def test_an_approve_order_set_approved_by_hand_signs_nobody_in(attacker, bob):
    auth_code = open_signin(attacker)
    user = (str(bob.pk), tokens.auth_digest(bob))
    fields = {"s": "a", "u": user[0], "a": user[1], "c": "x" * 22}
    store.get_redis().hset(store.order_key(auth_code), mapping=fields)
    collect(attacker, auth_code, confirm="account")
    assert signed_in_as(attacker) is None


def test_a_hand_off_order_edited_to_another_user_signs_nobody_in(alice, bob):
    desktop = browser_of(alice)
    auth_code = open_qr_page(desktop)
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    key = store.order_key(auth_code)
    store.get_redis().hset(key, mapping={"u": str(bob.pk), "a": tokens.auth_digest(bob)})
    phone = phone_of()
    phone.get(path, follow=True)
    phone.post(path)
    assert signed_in_as(phone) is None


def test_an_allowed_hand_off_cannot_be_moved_to_another_phone(alice, settings):
    """Desktop confirmation: the seal of the allow names the phone that asked."""
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    desktop = browser_of(alice)
    auth_code = open_qr_page(desktop)
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    asking, thief = phone_of(), phone_of()
    asking.get(path, follow=True)
    asking.post(CONTINUE_PAGE)
    desktop.post(reverse("qrauth_handoff_decide", args=[auth_code]), {"action": "allow"})
    # The thief claims some other order to have a claim digest of its own ...
    other_desktop = browser_of(alice)
    other = open_qr_page(other_desktop)
    other_path = urlsplit(status(other_desktop, other)["frame"]).path
    thief.get(other_path, follow=True)
    thief.post(CONTINUE_PAGE)
    # ... and writes it into the allowed order.
    store.get_redis().hset(store.order_key(auth_code), "c", order_hash(other)["c"])
    thief.post(reverse("qrauth_handoff_finish", args=[auth_code]))
    assert signed_in_as(thief) is None


def test_an_allow_seals_the_desktops_own_user_not_what_redis_says(alice, bob, settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    desktop = browser_of(alice)
    auth_code = open_qr_page(desktop)
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    phone = phone_of()
    phone.get(path, follow=True)
    phone.post(CONTINUE_PAGE)
    key = store.order_key(auth_code)
    store.get_redis().hset(key, mapping={"u": str(bob.pk), "a": tokens.auth_digest(bob)})
    desktop.post(reverse("qrauth_handoff_decide", args=[auth_code]), {"action": "allow"})
    phone.post(reverse("qrauth_handoff_finish", args=[auth_code]))
    assert signed_in_as(phone) is None


# -- scan URLs leave no token behind -----------------------------------------------------


def test_an_approve_scan_moves_to_a_page_without_the_token(attacker, bob):
    auth_code = open_signin(attacker)
    path = frame_path(attacker, auth_code)
    token = path.strip("/").rsplit("/", 1)[1]
    phone = phone_of(bob)
    response = phone.get(path)
    assert response.status_code == 302 and response["Location"] == APPROVE_PAGE
    cookie = response.cookies["qrauth_scan"]
    assert cookie["path"] == "/qr/" and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert token not in cookie.value and token.split(".")[-1] not in cookie.value
    page = phone.get(APPROVE_PAGE)
    assert token.split(".")[-1] not in page.content.decode()
    number = status(attacker, auth_code)["number"]
    assert "Approved" in answer(phone, number).content.decode()
    back = phone.get(APPROVE_PAGE)  # Back, or a reload: the answer again
    assert "qrauth/approve_done.html" in [t.name for t in back.templates]
    assert "Approved" in back.content.decode()


def test_a_hand_off_scan_moves_to_a_page_without_the_token(alice):
    desktop = browser_of(alice)
    auth_code = open_qr_page(desktop)
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    phone = phone_of()
    response = phone.get(path)
    assert response.status_code == 302 and response["Location"] == CONTINUE_PAGE
    page = phone.get(CONTINUE_PAGE)
    assert "Sign in as alice on this device?" in page.content.decode()
    assert path.rsplit(".", 1)[1].strip("/") not in page.content.decode()
    assert phone.post(CONTINUE_PAGE)["Location"] == "/"
    assert signed_in_as(phone) == "alice"


def test_a_scan_writes_no_session_for_an_anonymous_phone(attacker, alice):
    from django.contrib.sessions.models import Session

    desktop = browser_of(alice)
    codes = [open_signin(attacker), open_qr_page(desktop)]
    paths = [frame_path(attacker, codes[0]), urlsplit(status(desktop, codes[1])["frame"]).path]
    before = Session.objects.count()
    for path in paths:
        phone_of().get(path, follow=True)
    assert Session.objects.count() == before


def test_the_page_without_a_scan_cookie_is_the_invalid_code_page():
    for page in (APPROVE_PAGE, CONTINUE_PAGE):
        assert phone_of().get(page)["Location"] == reverse("invalid_auth_code")


def test_a_claim_before_login_gets_a_new_session_key(alice, settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    desktop = browser_of(alice)
    auth_code = open_qr_page(desktop)
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    phone = phone_of()
    phone.get(path, follow=True)
    phone.session.save()  # a session planted on the phone beforehand
    planted = phone.session.session_key
    phone.cookies["sessionid"] = planted
    phone.post(CONTINUE_PAGE)
    assert phone.cookies["sessionid"].value != planted


# -- a link from another site ------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "asks_first"),
    [
        ({"HTTP_SEC_FETCH_SITE": "cross-site"}, True),
        ({"HTTP_SEC_FETCH_SITE": "same-origin"}, False),
        ({"HTTP_REFERER": "https://evil.example/call"}, True),
        ({"HTTP_ORIGIN": "https://evil.example"}, True),
        ({"HTTP_REFERER": "http://testserver/account/"}, False),
        ({}, False),  # typed, or a bookmark
    ],
)
def test_a_link_from_elsewhere_asks_before_it_shows_a_code(alice, headers, asks_first):
    page = browser_of(alice).get(reverse("qr_code_page"), **headers)
    assert ("qrauth/show_code.html" in [t.name for t in page.templates]) is asks_first


# -- found in review -----------------------------------------------------------------------


def test_a_used_hand_off_order_revived_after_its_life_signs_nobody_in(alice, clock):
    """With write access to Redis and an old token (an access log, a photo):
    set a used order back to pending after its life, and scan it."""
    desktop = browser_of(alice)
    auth_code = open_qr_page(desktop)
    desktop.get(reverse("auth_qr_code", args=[auth_code]))  # the static code works
    path = reverse("qr_code_login", args=[tokens.scan_token(auth_code)])
    phone = phone_of()
    phone.get(path, follow=True)
    phone.post(CONTINUE_PAGE)
    assert signed_in_as(phone) == "alice"
    clock.now += 300 + 60  # AUTH_QR_CODE_EXPIRATION_TIME, and more
    store.get_redis().hset(store.order_key(auth_code), mapping={"s": "p", "t": clock.now})
    thief = phone_of()
    thief.get(path, follow=True)
    thief.post(CONTINUE_PAGE)
    assert signed_in_as(thief) is None


def test_a_refusal_keeps_a_session_whose_key_changed(db):
    """Django rotates the session key when a SECRET_KEY_FALLBACKS key
    authenticated the user (and deletes the old session): a request then
    refused (429) must still save the new key, or the user is signed out."""
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.http import HttpResponse
    from django.test import RequestFactory

    from qrauth.views.decorators import qrauth_view

    request = RequestFactory().get("/")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    request.session["kept"] = 1
    request.session.save()
    old_key, request.session.modified = request.session.session_key, False

    @qrauth_view(login=None)
    def view(request):
        request.session.cycle_key()
        request.session["not kept"] = 2
        raise store.OverLimit(5)

    assert view(request).status_code == 429
    assert request.session.modified and request.session.session_key != old_key
    assert dict(request.session.items()) == {"kept": 1}


def test_the_scan_cookie_is_secure_where_sessions_are(alice, settings):
    """TLS ended at a proxy that does not say so: the request looks like
    plain HTTP, but a site with secure session cookies keeps this one
    secure too (it is as good as the token)."""
    settings.SESSION_COOKIE_SECURE = True
    desktop = browser_of(alice)
    auth_code = open_qr_page(desktop)
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    assert phone_of().get(path).cookies["qrauth_scan"]["secure"]


def test_an_old_login_steps_up_before_the_desktop_allows(alice, clock, settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    settings.AUTH_QR_CODE_STEP_UP_AGE = 60
    desktop = Client()
    assert desktop.login(username="alice", password="alice-password")
    auth_code = open_qr_page(desktop)
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    phone = phone_of()
    phone.get(path, follow=True)
    phone.post(CONTINUE_PAGE)
    clock.now += 250
    decide = reverse("qrauth_handoff_decide", args=[auth_code])
    refused = desktop.post(decide, {"action": "allow"})
    assert refused.status_code == 403
    assert reverse("qrauth_step_up") in refused.content.decode()
    phone.post(reverse("qrauth_handoff_finish", args=[auth_code]))
    assert signed_in_as(phone) is None
    assert desktop.post(decide, {"action": "deny"}).status_code == 200  # a Deny needs none
