"""Attacks on the JSON API that a review found: each failed before its fix
(a body nested deep enough to crash the parser, a HEAD that wrote the
session, credentials that made one claim of several users, a header that
fell back to the cookie, a form body refused in HTML, a typo in the
authenticators that only a request found, a cross-site form riding a
credential the browser sends by itself)."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from rest_framework.authentication import BaseAuthentication

from qrauth.contrib.rest_framework import from_drf
from qrauth.credentials import ApiCredential, InvalidCredential

from .helpers import open_signin, signed_in_as, status
from .journeys import hand_off
from .openapi import described
from .test_api import ANDROID_APP, ANSWER, LOOK, answer, code_on_screen, look
from .test_api import app_of as drf_app_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

DRF = ["qrauth.contrib.rest_framework.token_authentication"]
DEVICES = reverse("qrauth_devices")


@pytest.fixture
def computer():
    return Client(REMOTE_ADDR="203.0.113.7")


# -- 1. a JSON body nested deeply is a 500, not a 400 ----------------------------------------


def test_a_deeply_nested_json_body_is_a_bad_request_not_a_server_error(settings, bob):
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = DRF
    app = drf_app_of(bob)
    app.raise_request_exception = False
    response = app.post(
        reverse("qrauth_api_approve_answer"), b"[" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400, response.status_code
    assert described(response, ANSWER, "post")["error"]["code"] == "bad_request"


def test_a_strangers_deeply_nested_handoff_answer_is_a_bad_request_not_a_server_error():
    """Not signed in, and no code: the hand-off answer parses the body first."""
    stranger = Client(enforce_csrf_checks=True, raise_request_exception=False)
    stranger.get(reverse("qrauth_api_schema"))
    stranger.get(reverse("qrauth_api_handoff", args=["x"]))  # hands out the CSRF cookie
    token = stranger.cookies["csrftoken"].value
    response = stranger.post(
        reverse("qrauth_api_handoff_answer"),
        b'{"a":' * 50_000,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 400, response.status_code


# -- 2. a HEAD of the approve look writes the session ------------------------------------


def test_a_head_of_the_approve_look_writes_nothing_to_the_session(computer, bob):
    """A GET or HEAD changes nothing but the "scanned" mark (HEAD not even
    that); the page's own HEAD writes no session. The API's HEAD makes the
    claimer secret and saves the session (a new Set-Cookie)."""
    auth_code = open_signin(computer)
    browser = Client()
    browser.force_login(bob)
    before = dict(browser.session.items())
    response = browser.head(
        reverse("qrauth_api_approve", args=[code_on_screen(computer, auth_code)])
    )
    assert response.status_code == 200
    assert dict(browser.session.items()) == before
    assert "sessionid" not in response.cookies


# -- 3. a credential without a key is one claim for every user ----------------------------


class HeaderKeyAuthentication(BaseAuthentication):
    """A DRF scheme of the kind ``from_drf`` is for: an API key in a header
    of its own, the key stored hashed (so the auth object has no ``key``).
    The header names the user here, standing for the key lookup."""

    def authenticate(self, request):
        name = request.META.get("HTTP_X_API_KEY")
        if not name:
            return None
        user = get_user_model().objects.get(username=name)
        return user, SimpleNamespace(prefix=name[:4])


api_key = from_drf(
    HeaderKeyAuthentication, "api-key", key=lambda request, auth: f"same-{auth.prefix[:0]}"
)
keyless = from_drf(HeaderKeyAuthentication, "api-key")


def key_app(user) -> Client:
    return Client(
        enforce_csrf_checks=True, HTTP_X_API_KEY=user.get_username(), HTTP_USER_AGENT=ANDROID_APP
    )


@pytest.fixture
def api_keys(settings):
    """Every user's credential has the same key (a site's careless key=):
    the claims still differ, by user."""
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = ["tests.test_api_attacks.api_key"]


def test_from_drf_without_a_key_to_read_is_a_clear_error(computer, bob, settings):
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = ["tests.test_api_attacks.keyless"]
    auth_code = open_signin(computer)
    with pytest.raises(ImproperlyConfigured, match="pass key="):
        look(key_app(bob), code_on_screen(computer, auth_code))


@pytest.mark.parametrize("scheme, key", [("", "k"), ("s", "")])
def test_a_credential_without_its_scheme_or_key_is_refused(bob, scheme, key):
    with pytest.raises(ValueError):
        ApiCredential(bob, scheme, key)


@pytest.mark.usefixtures("api_keys")
def test_a_handle_of_one_users_app_is_refused_from_another_users_app(computer, alice, bob):
    auth_code = open_signin(computer)
    alices = described(look(key_app(alice), code_on_screen(computer, auth_code)), LOOK, "get")
    number = status(computer, auth_code)["number"]
    replayed = described(answer(key_app(bob), alices["scan"], number=number), ANSWER, "post")
    assert replayed.get("error", {}).get("code") == "invalid_code", replayed


@pytest.mark.usefixtures("api_keys")
def test_an_order_one_users_app_claimed_is_taken_for_another_users_app(computer, alice, bob):
    auth_code = open_signin(computer)
    code = code_on_screen(computer, auth_code)
    alices = described(look(key_app(alice), code), LOOK, "get")
    number = status(computer, auth_code)["number"]
    assert answer(key_app(alice), alices["scan"], number=number).json() == {"state": "approved"}
    bobs = described(look(key_app(bob), code), LOOK, "get")
    assert bobs["error"]["code"] == "taken", bobs


# -- 4. a header that is there but not valid falls back to the cookie -----------------------


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic Ym9iOmJvYi1wYXNzd29yZA=="])
def test_an_authorization_header_the_authenticator_does_not_take_is_refused(
    computer, bob, settings, header
):
    """credentials.py: "A header that is present but does not authenticate
    is refused (401); the API never falls back to the cookie"."""
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = DRF
    auth_code = open_signin(computer)
    browser = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=header)
    browser.force_login(bob)
    response = described(look(browser, code_on_screen(computer, auth_code)), LOOK, "get")
    assert response.get("error", {}).get("code") == "invalid_credential", response


# -- 6. a cookie caller's form body is refused in HTML, not in JSON --------------------------


def test_a_cookie_callers_form_body_with_too_many_fields_is_refused_in_json(computer, bob):
    """The CSRF check reads request.POST for a form body (no X-CSRFToken
    header): Django's TooManyFieldsSent escapes as its own HTML 400."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(bob)
    browser.get(reverse("qrauth_api_schema"))  # the CSRF cookie
    fields = {f"f{n}": "x" for n in range(1_100)}
    response = browser.post(reverse("qrauth_api_approve_answer"), fields)
    assert response["Content-Type"].startswith("application/json"), (
        response.status_code,
        response["Content-Type"],
    )
    assert described(response, ANSWER, "post")["error"]["code"] in ("bad_request", "csrf_failed")


# -- 7. an authenticator path that does not import is a 500 at each request, no check ------


def test_an_authenticator_that_does_not_import_is_a_check_error(settings):
    """As AUTH_QR_CODE_USER_POLICY's E006: a typo must fail ``manage.py
    check``, not every request of the API (ImportError: a 500 each time)."""
    from django.core.checks import run_checks

    settings.AUTH_QR_CODE_API_AUTHENTICATORS = ["qrauth.contrib.rest_framwork.token_authentication"]
    messages = run_checks(tags=["qrauth"])
    assert any("AUTH_QR_CODE_API_AUTHENTICATORS" in m.msg for m in messages), [
        m.id for m in messages
    ]


# -- 9. an ambient header credential (HTTP Basic) skips CSRF on the body-less POSTs ---------


def basic(request) -> ApiCredential | None:
    """A site's own authenticator of a credential the browser sends by
    itself (HTTP Basic): the API must not let a cross-site form use it."""
    from django.contrib.auth import authenticate

    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    name, _, password = base64.b64decode(header[6:]).decode().partition(":")
    user = authenticate(request, username=name, password=password)
    if user is None:
        raise InvalidCredential("wrong password")
    return ApiCredential(user, "basic", header)


@pytest.mark.parametrize(
    "refused", ["SessionAuthentication", "BasicAuthentication", "RemoteUserAuthentication"]
)
def test_from_drf_refuses_a_credential_the_browser_sends_by_itself(refused):
    import rest_framework.authentication as drf

    with pytest.raises(ImproperlyConfigured, match="browser sends by itself"):
        from_drf(getattr(drf, refused), "ambient")


def test_a_cross_site_form_post_with_a_browsers_cached_basic_credentials_is_refused(
    settings, alice, desktop, phone
):
    """A browser sends cached HTTP Basic credentials with any request,
    cross-site form POSTs included: like the cookie, they are ambient, and
    skip CSRF. from_drf refuses SessionAuthentication for this reason only.
    The sign-out POSTs read no body, so a form (no preflight) reaches them."""
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = ["tests.test_api_attacks.basic"]
    hand_off(desktop, phone)
    basic_creds = base64.b64encode(b"alice:alice-password").decode()
    victims_browser = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Basic {basic_creds}")
    forged = victims_browser.post(
        reverse("qrauth_api_devices_sign_out_others"),
        "",
        content_type="application/x-www-form-urlencoded",
        HTTP_ORIGIN="https://attacker.example",
    )
    assert forged.status_code in (400, 403), forged.content
    phone.get("/")
    assert signed_in_as(phone) == "alice"
