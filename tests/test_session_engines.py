"""Both flows, the per-session limit and the ways a hand-off code stops,
under every session engine Django ships.

The signed-cookie engine keeps nothing on the server, and its session key
is the session's data, signed: a new key with every write. Nothing may rest
on loading another browser's session, nor on a session key staying put.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, login
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import include, path, reverse

from .helpers import browser_of, scan, signed_in_as
from .journeys import approve, hand_off, open_signin

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

ENGINES = ("db", "cache", "cached_db", "file", "signed_cookies")
INVALID = reverse("invalid_auth_code")
QR_PAGE = reverse("qr_code_page")
SIGNIN = reverse("qrauth_signin")


@pytest.fixture(autouse=True, params=ENGINES)
def engine(request, tmp_path):
    """The session engine of the test; the cache engines use the test
    settings' cache (one process: local memory is shared)."""
    with override_settings(
        SESSION_ENGINE=f"django.contrib.sessions.backends.{request.param}",
        SESSION_FILE_PATH=str(tmp_path),
    ):
        yield request.param


def password_login(request):
    """A site's own login view, as a browser posts to it."""
    user = authenticate(request, **request.POST.dict())
    login(request, user)
    return HttpResponse(f"signed in as {user.get_username()}")


urlpatterns = [path("login/", password_login), path("", include("tests.urls"))]


@pytest.fixture
def computer():
    """A browser that is not signed in."""
    return Client(REMOTE_ADDR="203.0.113.7")


# -- the journeys -----------------------------------------------------------------


def test_a_phone_is_signed_in_as_the_desktops_user(desktop, phone):
    response = hand_off(desktop, phone)
    assert response.status_code == 302 and response["Location"] != INVALID
    assert signed_in_as(phone) == "alice"


def test_a_computer_is_signed_in_as_the_phones_user(computer, bob):
    response = approve(computer, browser_of(bob))
    assert response.status_code == 302
    assert signed_in_as(computer) == "bob"


# -- the per-session limit ----------------------------------------------------------


def test_a_desktop_is_held_to_its_session_limit(desktop, alice, settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (2, 60)
    for _ in range(2):
        assert desktop.get(QR_PAGE).status_code == 200
    assert desktop.get(QR_PAGE).status_code == 429
    assert browser_of(alice).get(QR_PAGE).status_code == 200  # another browser


def test_a_computer_is_held_to_its_session_limit(computer, settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (2, 60)
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_IP = None
    for _ in range(2):
        open_signin(computer)
    assert computer.get(SIGNIN).status_code == 429
    assert Client(REMOTE_ADDR="203.0.113.7").get(SIGNIN).status_code == 200


def test_a_refused_code_leaves_the_session_as_it_was(desktop, settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (1, 60)
    assert desktop.get(QR_PAGE).status_code == 200
    before = dict(desktop.session.items())
    response = desktop.get(QR_PAGE)
    assert response.status_code == 429
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert dict(desktop.session.items()) == before


def test_a_refused_browser_is_given_no_session(settings):
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_IP = (1, 60)
    open_signin(Client(REMOTE_ADDR="198.51.100.7"))
    response = Client(REMOTE_ADDR="198.51.100.7").get(SIGNIN)
    assert response.status_code == 429
    assert settings.SESSION_COOKIE_NAME not in response.cookies


# -- a hand-off code stops with the desktop that shows it --------------------------------


def test_logging_out_the_desktop_stops_its_code(desktop, phone):
    path = scan(desktop)
    desktop.logout()
    assert phone.post(path)["Location"] == INVALID
    assert signed_in_as(phone) is None


@pytest.mark.urls(__name__)
def test_signing_in_as_someone_else_on_the_desktop_stops_its_code(desktop, phone, bob):
    path = scan(desktop)
    desktop.post("/login/", {"username": "bob", "password": "bob-password"})
    assert signed_in_as(desktop) == "bob"  # login() flushed alice's session: no logout
    assert phone.post(path)["Location"] == INVALID
    assert signed_in_as(phone) is None


@pytest.mark.urls(__name__)
def test_signing_in_again_as_the_same_user_keeps_the_code(desktop, phone, alice):
    path = scan(desktop)
    desktop.post("/login/", {"username": "alice", "password": "alice-password"})
    assert phone.post(path)["Location"] != INVALID
    assert signed_in_as(phone) == "alice"


def test_a_newer_code_stops_the_one_before(desktop, phone):
    old = scan(desktop)
    scan(desktop)
    assert phone.post(old)["Location"] == INVALID
    assert signed_in_as(phone) is None
