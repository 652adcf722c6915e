"""Step-up: the password again before a hand-off code, when it was long ago."""

from __future__ import annotations

import pytest
from django.contrib.auth.signals import user_login_failed
from django.test import Client
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

QR_PAGE = reverse("qr_code_page")
STEP_UP = reverse("qrauth_step_up")


@pytest.fixture
def desktop(alice, clock):
    """alice, signed in with her password at the clock's start."""
    browser = Client()
    assert browser.login(username="alice", password="alice-password")
    return browser


def test_off_by_default(desktop, clock):
    clock.now += 10 * 86400
    assert desktop.get(QR_PAGE).status_code == 200


def test_a_recent_login_shows_the_code(desktop, settings, clock):
    settings.AUTH_QR_CODE_STEP_UP_AGE = 300
    clock.now += 300
    assert "auth_code" in desktop.get(QR_PAGE).context


def test_an_old_login_asks_for_the_password_first(desktop, settings, clock):
    settings.AUTH_QR_CODE_STEP_UP_AGE = 300
    clock.now += 301
    response = desktop.get(QR_PAGE)
    assert response["Location"] == f"{STEP_UP}?next={QR_PAGE}"
    page = desktop.get(response["Location"])
    assert "Confirm your password" in page.content.decode()
    assert 'name="next" value="/qr/"' in page.content.decode()
    back = desktop.post(STEP_UP, {"password": "alice-password", "next": QR_PAGE})
    assert back["Location"] == QR_PAGE
    assert "auth_code" in desktop.get(QR_PAGE).context
    clock.now += 301
    assert desktop.get(QR_PAGE)["Location"].startswith(STEP_UP)


def test_a_wrong_password_is_refused_and_counted(desktop, settings, clock):
    settings.AUTH_QR_CODE_STEP_UP_AGE = 300
    clock.now += 301
    failures = []
    user_login_failed.connect(lambda **kw: failures.append(kw), weak=False, dispatch_uid="t")
    try:
        page = desktop.post(STEP_UP, {"password": "wrong", "next": QR_PAGE})
    finally:
        user_login_failed.disconnect(dispatch_uid="t")
    assert page.status_code == 400
    assert "That is not the password of this account." in page.content.decode()
    assert len(failures) == 1  # lockout apps (django-axes) see it
    assert desktop.get(QR_PAGE)["Location"].startswith(STEP_UP)


def test_a_session_that_never_logged_in_here_steps_up(alice, settings):
    settings.AUTH_QR_CODE_STEP_UP_AGE = 300
    browser = Client()
    browser.force_login(alice)  # force_login sends user_logged_in too
    assert browser.get(QR_PAGE).status_code == 200
    session = browser.session
    del session["qrauth_authenticated_at"]  # e.g. signed in before qrauth was installed
    session.save()
    assert browser.get(QR_PAGE)["Location"].startswith(STEP_UP)


def test_a_site_can_use_its_own_reauthentication_view(desktop, settings, clock):
    settings.AUTH_QR_CODE_STEP_UP_AGE = 300
    settings.AUTH_QR_CODE_STEP_UP_URL = "/account/reauthenticate/"
    clock.now += 301
    assert desktop.get(QR_PAGE)["Location"] == "/account/reauthenticate/?next=/qr/"


def test_step_up_needs_a_signed_in_user_and_csrf(alice):
    assert Client().get(STEP_UP)["Location"].startswith("/accounts/login/")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(STEP_UP, {"password": "alice-password"}).status_code == 403


def test_an_unsafe_next_is_not_followed(desktop, settings, clock):
    back = desktop.post(STEP_UP, {"password": "alice-password", "next": "https://evil.example/"})
    assert back["Location"] == QR_PAGE


def test_the_password_page_has_a_way_on(desktop, settings):
    """Someone who would rather not type the password is not stuck there;
    and the page does not promise a code (the approve phone shows none)."""
    settings.AUTH_QR_CODE_REDIRECT_URL = "/welcome/"
    html = desktop.get(STEP_UP).content.decode()
    assert 'href="/welcome/">Go to the site</a>' in html
    assert "before it shows one" not in html
