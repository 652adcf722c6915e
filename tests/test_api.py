"""The JSON API, driven as a site's own app drives it: look at a scanned
code, answer with the handle, under the same rules as the phone's pages.
Every response is checked against the shipped OpenAPI description."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from qrauth import store

from .helpers import collect, everything_in_redis, open_signin, signed_in_as, status
from .openapi import DOCUMENT, described

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

DRF = ["qrauth.contrib.rest_framework.token_authentication"]
LOOK = "/api/approve/{auth_code}/"
ANSWER = "/api/approve/"
ANDROID_APP = "ExampleApp/2.1 (Linux; Android 14; Pixel 8) okhttp/4.12"


@pytest.fixture(autouse=True)
def app_tokens(settings):
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = DRF


@pytest.fixture
def computer():
    return Client(REMOTE_ADDR="203.0.113.7")


def app_of(user, **headers) -> Client:
    """The site's app on a phone, signed in as ``user`` with a DRF token,
    and refusing to help with CSRF (it has no cookie and sends no token)."""
    key = Token.objects.create(user=user).key
    return Client(
        enforce_csrf_checks=True,
        HTTP_AUTHORIZATION=f"Token {key}",
        HTTP_USER_AGENT=ANDROID_APP,
        REMOTE_ADDR="203.0.113.50",
        **headers,
    )


@pytest.fixture
def bobs_app(bob):
    return app_of(bob)


def code_on_screen(computer: Client, auth_code: str) -> str:
    """The code of the frame the computer shows now (the scan URL's last segment)."""
    return urlsplit(status(computer, auth_code)["frame"]).path.rstrip("/").rsplit("/", 1)[1]


def look(app: Client, code: str):
    return app.get(reverse("qrauth_api_approve", args=[code]))


def answer(app: Client, scan: str, action: str = "approve", number: str = ""):
    body = {"scan": scan, "action": action, "number": number}
    return app.post(
        reverse("qrauth_api_approve_answer"), json.dumps(body), content_type="application/json"
    )


def looked(app: Client, computer: Client, auth_code: str) -> dict:
    return described(look(app, code_on_screen(computer, auth_code)), LOOK, "get")


def test_an_app_approves_with_its_token_and_the_number_and_the_desktop_signs_in(
    computer, bobs_app, bob
):
    auth_code = open_signin(computer)
    details = looked(bobs_app, computer, auth_code)
    assert details["account"]["username"] == "bob"
    assert details["requester"]["address"] == "203.0.113.7"
    assert details["number_required"] is True
    number = status(computer, auth_code)["number"]  # shown once this app looked
    assert number
    response = answer(bobs_app, details["scan"], number=number)
    assert described(response, ANSWER, "post") == {"state": "approved"}
    assert collect(computer, auth_code, confirm="account").status_code == 302
    assert signed_in_as(computer) == "bob"


def test_a_look_changes_nothing_but_the_scanned_mark(computer, bobs_app):
    auth_code = open_signin(computer)
    code = code_on_screen(computer, auth_code)
    for _ in range(3):
        described(look(bobs_app, code), LOOK, "get")
        assert bobs_app.head(reverse("qrauth_api_approve", args=[code])).status_code == 200
    assert status(computer, auth_code)["hint"] == "scanned"
    assert collect(computer, auth_code, confirm="account").status_code != 302
    assert signed_in_as(computer) is None


def test_a_deny_signs_nobody_in(computer, bobs_app):
    auth_code = open_signin(computer)
    details = looked(bobs_app, computer, auth_code)
    assert described(answer(bobs_app, details["scan"], "deny"), ANSWER, "post") == {
        "state": "denied"
    }
    assert status(computer, auth_code)["hint"] == "denied"


def test_one_wrong_number_stops_the_sign_in_and_a_second_try_is_told_so(computer, bobs_app):
    auth_code = open_signin(computer)
    details = looked(bobs_app, computer, auth_code)
    right = status(computer, auth_code)["number"]
    wrong = f"{(int(right) + 1) % 100:02d}"
    assert answer(bobs_app, details["scan"], number=wrong).json() == {"state": "wrong_number"}
    again = described(answer(bobs_app, details["scan"], number=right), ANSWER, "post")
    assert again == {"state": "wrong_number"}
    assert status(computer, auth_code)["hint"] == "wrong_number"


def test_the_first_app_to_answer_claims_the_order(computer, bobs_app, bob, alice):
    auth_code = open_signin(computer)
    code = code_on_screen(computer, auth_code)  # both scan the same frame
    details = described(look(bobs_app, code), LOOK, "get")
    alices_app = app_of(alice)
    alices = described(look(alices_app, code), LOOK, "get")
    number = status(computer, auth_code)["number"]  # alice's app looked last
    assert answer(alices_app, alices["scan"], number=number).json() == {"state": "approved"}
    taken = described(answer(bobs_app, details["scan"], number=number), ANSWER, "post")
    assert taken["error"]["code"] == "taken"


def test_a_handle_works_for_the_caller_it_was_handed_to_only(computer, bobs_app, alice):
    auth_code = open_signin(computer)
    details = looked(bobs_app, computer, auth_code)
    number = status(computer, auth_code)["number"]
    refused = described(answer(app_of(alice), details["scan"], number=number), ANSWER, "post")
    assert refused["error"]["code"] == "invalid_code"
    assert status(computer, auth_code)["hint"] == "scanned"


@pytest.mark.parametrize("handle", ["", "x", "W1siYSJdXQ:1:bad", "a" * 400])
def test_a_handle_that_is_not_one_is_an_invalid_code(computer, bobs_app, handle):
    refused = described(answer(bobs_app, handle), ANSWER, "post")
    assert refused["error"]["code"] == "invalid_code"


def test_the_handle_vouches_for_the_frame_after_it_left_the_screen(computer, bobs_app, clock):
    auth_code = open_signin(computer)
    details = looked(bobs_app, computer, auth_code)
    clock.now += 60  # the person reads, thinks, types: the frame is long gone
    number = status(computer, auth_code)["number"]
    assert answer(bobs_app, details["scan"], number=number).json() == {"state": "approved"}


def test_a_frame_looked_at_after_it_left_the_screen_is_stale(computer, bobs_app, clock):
    auth_code = open_signin(computer)
    code = code_on_screen(computer, auth_code)
    clock.now += 60
    stale = described(look(bobs_app, code), LOOK, "get")
    assert stale["error"]["code"] == "stale_code"


def test_a_forged_code_is_refused_and_counted_against_the_address(bobs_app, settings):
    settings.AUTH_QR_CODE_SCAN_FAILURES_PER_IP = (3, 300)
    codes = [described(look(bobs_app, f"forged{n}"), LOOK, "get") for n in range(4)]
    assert [c["error"]["code"] for c in codes] == ["invalid_code"] * 3 + ["rate_limited"]
    assert look(bobs_app, "forged")["Retry-After"]


def test_an_app_that_is_not_signed_in_is_asked_to_sign_in_and_sees_no_number(computer):
    auth_code = open_signin(computer)
    anonymous = Client(enforce_csrf_checks=True)
    response = described(look(anonymous, code_on_screen(computer, auth_code)), LOOK, "get")
    assert response["error"]["code"] == "not_authenticated"
    assert status(computer, auth_code)["number"] is None  # nobody claimed a number


def test_the_look_never_tells_the_number(computer, bobs_app):
    auth_code = open_signin(computer)
    body = described(look(bobs_app, code_on_screen(computer, auth_code)), LOOK, "get")
    number = status(computer, auth_code)["number"]
    values = [*body.values(), *body["account"].values(), *body["requester"].values()]
    assert number and number not in [str(value) for value in values]


@pytest.mark.parametrize("header", ["Token not-a-token", "Token", "Token a b"])
def test_a_bad_token_is_refused_even_with_a_signed_in_cookie(computer, bob, header):
    """A forged header must not ride the victim's cookie session past CSRF."""
    auth_code = open_signin(computer)
    victim = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=header)
    victim.force_login(bob)
    response = described(look(victim, code_on_screen(computer, auth_code)), LOOK, "get")
    assert response["error"]["code"] == "invalid_credential"
    refused = described(answer(victim, "anything"), ANSWER, "post")
    assert refused["error"]["code"] == "invalid_credential"


def test_an_inactive_users_token_is_refused(computer, bob):
    app = app_of(bob)
    bob.is_active = False
    bob.save()
    auth_code = open_signin(computer)
    response = described(look(app, code_on_screen(computer, auth_code)), LOOK, "get")
    assert response["error"]["code"] == "invalid_credential"


def test_a_cookie_session_must_pass_csrf_to_answer(computer, bob):
    auth_code = open_signin(computer)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(bob)
    details = looked(browser, computer, auth_code)
    number = status(computer, auth_code)["number"]
    refused = described(answer(browser, details["scan"], number=number), ANSWER, "post")
    assert refused["error"]["code"] == "csrf_failed"
    assert status(computer, auth_code)["hint"] == "scanned"
    browser.get(reverse("qrauth_api_schema"))  # any page that hands out the CSRF cookie
    token = _csrf_token(browser)
    body = json.dumps({"scan": details["scan"], "action": "approve", "number": number})
    accepted = browser.post(
        reverse("qrauth_api_approve_answer"),
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert described(accepted, ANSWER, "post") == {"state": "approved"}


def _csrf_token(browser: Client) -> str:
    from django.middleware.csrf import _get_new_csrf_string

    token = browser.cookies["csrftoken"].value if "csrftoken" in browser.cookies else ""
    if not token:
        token = _get_new_csrf_string()
        browser.cookies["csrftoken"] = token
    return token


@pytest.mark.parametrize("age, allowed", [(400, False), (10, True)])
def test_step_up_counts_a_drf_token_as_fresh_when_it_was_made(
    computer, bob, clock, settings, age, allowed
):
    settings.AUTH_QR_CODE_STEP_UP_AGE = 300
    app = app_of(bob)
    made = datetime.fromtimestamp(clock.now - age, tz=timezone.utc)
    Token.objects.filter(user=bob).update(created=made)
    auth_code = open_signin(computer)
    response = described(look(app, code_on_screen(computer, auth_code)), LOOK, "get")
    assert ("error" not in response) is allowed
    if not allowed:
        assert response["error"]["code"] == "step_up_required"


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'"scan"', b'{"scan": 1, "action": "approve"}'],
)
def test_a_body_that_is_not_an_answer_is_a_bad_request(bobs_app, body):
    response = bobs_app.post(
        reverse("qrauth_api_approve_answer"), body, content_type="application/json"
    )
    assert described(response, ANSWER, "post")["error"]["code"] == "bad_request"


def test_a_body_too_large_is_a_bad_request(bobs_app, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"scan": "x" * 2000, "action": "approve"})
    response = bobs_app.post(
        reverse("qrauth_api_approve_answer"), body, content_type="application/json"
    )
    assert described(response, ANSWER, "post")["error"]["code"] == "bad_request"


def test_a_form_body_is_a_bad_request(bobs_app):
    response = bobs_app.post(reverse("qrauth_api_approve_answer"), {"scan": "x"})
    assert described(response, ANSWER, "post")["error"]["code"] == "bad_request"


def test_an_unknown_action_is_a_bad_request(computer, bobs_app):
    auth_code = open_signin(computer)
    details = looked(bobs_app, computer, auth_code)
    response = described(answer(bobs_app, details["scan"], "maybe"), ANSWER, "post")
    assert response["error"]["code"] == "bad_request"


@pytest.mark.parametrize("method", ["get", "head", "put", "delete"])
def test_other_methods_are_refused_in_json(bobs_app, method):
    response = getattr(bobs_app, method)(reverse("qrauth_api_approve_answer"))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    if method != "head":
        assert described(response, ANSWER, "post")["error"]["code"] == "method_not_allowed"


def test_the_api_is_off_with_its_flow(computer, bobs_app, settings):
    auth_code = open_signin(computer)
    settings.AUTH_QR_CODE_APPROVE_ENABLED = False
    response = described(look(bobs_app, code_on_screen(computer, auth_code)), LOOK, "get")
    assert response["error"]["code"] == "not_found"


def test_answers_are_neither_cached_nor_framed(computer, bobs_app):
    auth_code = open_signin(computer)
    response = look(bobs_app, code_on_screen(computer, auth_code))
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"


def test_redis_down_is_a_503_in_json(computer, bobs_app, monkeypatch):
    auth_code = open_signin(computer)
    code = code_on_screen(computer, auth_code)
    monkeypatch.setattr(store, "record_scan", _unavailable)
    response = look(bobs_app, code)
    assert described(response, LOOK, "get")["error"]["code"] == "unavailable"
    assert response["Retry-After"]


def _unavailable(*args, **kwargs):
    from qrauth.model import StoreUnavailable

    raise StoreUnavailable("down")


def test_neither_the_token_nor_the_code_reaches_redis_or_the_logs(
    computer, bobs_app, qr_redis, caplog
):
    caplog.set_level(logging.DEBUG)
    auth_code = open_signin(computer)
    code = code_on_screen(computer, auth_code)
    details = described(look(bobs_app, code), LOOK, "get")
    answer(bobs_app, details["scan"], number=status(computer, auth_code)["number"])
    key = bobs_app.defaults["HTTP_AUTHORIZATION"].split()[1]
    at_rest = everything_in_redis(qr_redis)
    for secret in (key, code, details["scan"]):
        assert secret not in at_rest
        assert secret not in caplog.text


def served_schemes(client) -> dict:
    from openapi_spec_validator import validate

    response = client.get(reverse("qrauth_api_schema"))
    assert response.status_code == 200
    served = json.loads(response.content)
    validate(served)
    assert served["security"] == [{name: []} for name in served["components"]["securitySchemes"]]
    return served["components"]["securitySchemes"]


def test_the_description_is_served_with_the_schemes_this_site_accepts(client, settings):
    assert list(served_schemes(client)) == ["drfToken", "cookieSession"]
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = []
    settings.SESSION_COOKIE_NAME = "site_session"
    assert served_schemes(client) == {
        "cookieSession": {
            **DOCUMENT["components"]["securitySchemes"]["cookieSession"],
            "name": "site_session",
        }
    }


def own_authenticator(request):
    return None


own_authenticator.openapi_scheme = ("siteKey", {"type": "apiKey", "in": "header", "name": "X-Key"})


def test_a_sites_own_authenticator_may_describe_its_scheme(client, settings):
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = [
        "qrauth.contrib.allauth.headless_session_token",
        "tests.test_api.own_authenticator",
    ]
    schemes = served_schemes(client)
    assert list(schemes) == ["allauthSessionToken", "siteKey", "cookieSession"]
    assert schemes["siteKey"]["name"] == "X-Key"
