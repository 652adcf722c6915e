"""The JSON API's header credentials, each through the real package that
issues it: an app signs in the way it would (allauth headless's login,
DRF's obtain_auth_token), then approves without any CSRF token."""

from __future__ import annotations

import json
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from qrauth.credentials import ApiCredential

from .helpers import collect, open_signin, signed_in_as, status
from .openapi import described
from .test_api import LOOK, answer, code_on_screen, look

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

ALLAUTH = "qrauth.contrib.allauth.headless_session_token"
DRF = "qrauth.contrib.rest_framework.token_authentication"


@pytest.fixture(autouse=True)
def both(settings):
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = [ALLAUTH, DRF]


@pytest.fixture
def computer():
    return Client(REMOTE_ADDR="203.0.113.7")


def allauth_app(username: str, password: str) -> Client:
    """An app that signed in through allauth headless's app API."""
    app = Client(enforce_csrf_checks=True)
    response = app.post(
        "/_allauth/app/v1/auth/login",
        json.dumps({"username": username, "password": password}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    token = response.json()["meta"]["session_token"]
    return Client(enforce_csrf_checks=True, HTTP_X_SESSION_TOKEN=token)


def drf_app(username: str, password: str) -> Client:
    """An app that got its token from DRF's obtain_auth_token view."""
    response = Client().post("/api-token-auth/", {"username": username, "password": password})
    assert response.status_code == 200, response.content
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {response.json()['token']}")


def approves(app: Client, computer: Client) -> str | None:
    """``app`` looks and approves ``computer``'s code; who ``computer`` is then."""
    auth_code = open_signin(computer)
    details = described(look(app, code_on_screen(computer, auth_code)), LOOK, "get")
    number = status(computer, auth_code)["number"]
    assert answer(app, details["scan"], number=number).json() == {"state": "approved"}
    collect(computer, auth_code, confirm="account")
    return signed_in_as(computer)


@pytest.mark.parametrize("sign_in", [allauth_app, drf_app], ids=["allauth", "drf"])
def test_an_app_signed_in_by_its_package_approves_without_csrf(computer, bob, sign_in):
    assert approves(sign_in("bob", "bob-password"), computer) == "bob"


def test_an_allauth_token_of_a_signed_out_session_is_refused(computer, bob):
    app = allauth_app("bob", "bob-password")
    assert app.delete("/_allauth/app/v1/auth/session").status_code == 401
    auth_code = open_signin(computer)
    refused = described(look(app, code_on_screen(computer, auth_code)), LOOK, "get")
    assert refused["error"]["code"] == "invalid_credential"


def test_an_allauth_token_is_as_fresh_as_the_login_behind_it(computer, bob, settings, clock):
    settings.AUTH_QR_CODE_STEP_UP_AGE = 300
    clock.now = int(time.time())  # allauth stamps its login with the real time
    app = allauth_app("bob", "bob-password")
    auth_code = open_signin(computer)
    assert look(app, code_on_screen(computer, auth_code)).status_code == 200
    clock.now += 600
    later = Client(REMOTE_ADDR="203.0.113.8")
    auth_code = open_signin(later)
    refused = described(look(app, code_on_screen(later, auth_code)), LOOK, "get")
    assert refused["error"]["code"] == "step_up_required"


def test_an_allauth_reauthentication_makes_the_token_fresh_again(
    computer, bob, settings, clock, monkeypatch
):
    """allauth notes a reauthentication in its own records only: no login,
    so qrauth's mark stays as it was."""
    from allauth.account.internal.flows import login as allauth_login

    settings.AUTH_QR_CODE_STEP_UP_AGE = 300
    monkeypatch.setattr(allauth_login.time, "time", lambda: clock.now)
    app = allauth_app("bob", "bob-password")
    clock.now += 600
    auth_code = open_signin(computer)
    code = code_on_screen(computer, auth_code)
    assert described(look(app, code), LOOK, "get")["error"]["code"] == "step_up_required"
    again = app.post(
        "/_allauth/app/v1/auth/reauthenticate",
        json.dumps({"password": "bob-password"}),
        content_type="application/json",
    )
    assert again.status_code == 200, again.content
    assert look(app, code).status_code == 200


def test_an_allauth_token_of_a_session_nobody_signed_in_is_refused(computer):
    from importlib import import_module

    from django.conf import settings as django_settings

    session = import_module(django_settings.SESSION_ENGINE).SessionStore()
    session["pending"] = "a login that never finished"
    session.create()
    app = Client(HTTP_X_SESSION_TOKEN=session.session_key)
    auth_code = open_signin(computer)
    refused = described(look(app, code_on_screen(computer, auth_code)), LOOK, "get")
    assert refused["error"]["code"] == "invalid_credential"


def test_drf_session_authentication_cannot_stand_for_a_header():
    from rest_framework.authentication import SessionAuthentication

    from qrauth.contrib.rest_framework import from_drf

    with pytest.raises(ImproperlyConfigured, match="CSRF"):
        from_drf(SessionAuthentication, "cookie")


# A site's own authenticator: reads X-Test-User (never do this in a site).
def by_test_header(request) -> ApiCredential | None:
    from django.contrib.auth import get_user_model

    name = request.headers.get("X-Test-User")
    if not name:
        return None
    user = get_user_model().objects.get(username=name)
    return ApiCredential(user, "test", f"test-{name}")


def test_a_user_who_may_not_sign_in_is_refused_whatever_vouches_for_them(computer, bob, settings):
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = ["tests.test_api_auth.by_test_header"]
    app = Client(enforce_csrf_checks=True, HTTP_X_TEST_USER="bob")
    bob.is_active = False
    bob.save()
    auth_code = open_signin(computer)
    refused = described(look(app, code_on_screen(computer, auth_code)), LOOK, "get")
    assert refused["error"]["code"] == "invalid_credential"


def test_the_sites_own_authenticator_is_used(computer, bob, settings):
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = ["tests.test_api_auth.by_test_header"]
    assert approves(Client(enforce_csrf_checks=True, HTTP_X_TEST_USER="bob"), computer) == "bob"


@pytest.mark.parametrize("value", ["qrauth.contrib.allauth.headless_session_token", [1], None])
def test_a_bad_list_of_authenticators_is_a_clear_error(client, settings, value):
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = value
    with pytest.raises(ImproperlyConfigured, match="AUTH_QR_CODE_API_AUTHENTICATORS"):
        client.get(reverse("qrauth_api_approve", args=["x"]))
