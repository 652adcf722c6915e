"""The devices page's JSON twin: an app (or a single-page app) lists the
devices a QR code signed its user in on, and signs them out; the device
finds itself signed out at its next request, under the session engines
the devices page is tested with."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from .helpers import signed_in_as
from .journeys import hand_off
from .openapi import described

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

LIST = "/api/devices/"
ONE = "/api/devices/{device}/sign-out/"
OTHERS = "/api/devices/sign-out-others/"


@pytest.fixture(autouse=True)
def app_tokens(settings):
    settings.AUTH_QR_CODE_API_AUTHENTICATORS = [
        "qrauth.contrib.rest_framework.token_authentication"
    ]


@pytest.fixture(params=["db", "cached_db", "cache"])
def engine(request, settings):
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"


def app_of(user) -> Client:
    token = Token.objects.create(user=user).key
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {token}")


def devices(caller: Client) -> list[dict]:
    return described(caller.get(reverse("qrauth_api_devices")), LIST, "get")["devices"]


def sign_out(caller: Client, device: str, **headers):
    url = reverse("qrauth_api_device_sign_out", args=[device])
    return caller.post(url, "{}", content_type="application/json", **headers)


def sign_out_others(caller: Client, **headers):
    url = reverse("qrauth_api_devices_sign_out_others")
    return caller.post(url, "{}", content_type="application/json", **headers)


@pytest.mark.usefixtures("engine")
def test_an_app_lists_a_linked_device_and_signs_it_out(desktop, phone, alice):
    hand_off(desktop, phone)
    app = app_of(alice)
    [linked] = devices(app)
    assert (linked["flow"], linked["current"]) == ("handoff", False)
    assert linked["device"] == "Safari on iOS"
    assert described(sign_out(app, linked["id"]), ONE, "post") == {"signed_out": 1}
    assert signed_in_as(phone) == "alice"  # until its next request
    phone.get("/")
    assert signed_in_as(phone) is None
    assert devices(app) == []


def test_a_device_signed_out_already_counts_none(desktop, phone, alice):
    hand_off(desktop, phone)
    app = app_of(alice)
    [linked] = devices(app)
    sign_out(app, linked["id"])
    phone.get("/")
    assert described(sign_out(app, linked["id"]), ONE, "post") == {"signed_out": 0}


@pytest.mark.parametrize("device", ["0", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_a_device_that_is_not_one_is_not_found(alice, device):
    refused = described(sign_out(app_of(alice), device), ONE, "post")
    assert refused["error"]["code"] == "not_found"


def test_another_users_device_cannot_be_signed_out(desktop, phone, alice, bob):
    hand_off(desktop, phone)
    [linked] = devices(app_of(alice))
    refused = described(sign_out(app_of(bob), linked["id"]), ONE, "post")
    assert refused["error"]["code"] == "not_found"
    phone.get("/")
    assert signed_in_as(phone) == "alice"


def test_a_cookie_session_must_pass_csrf_to_sign_out(desktop, phone, alice):
    hand_off(desktop, phone)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    [linked] = devices(browser)  # a look hands out the CSRF cookie
    refused = described(sign_out(browser, linked["id"]), ONE, "post")
    assert refused["error"]["code"] == "csrf_failed"
    phone.get("/")
    assert signed_in_as(phone) == "alice"
    token = browser.cookies["csrftoken"].value
    done = sign_out(browser, linked["id"], HTTP_X_CSRFTOKEN=token)
    assert described(done, ONE, "post") == {"signed_out": 1}


def test_a_linked_device_signs_out_all_others_and_stays(desktop, alice, phone):
    hand_off(desktop, phone)
    second = Client(HTTP_USER_AGENT="Mozilla/5.0 (Android 14) Mobile")
    hand_off(desktop, second)
    listed = devices(second)
    assert sorted(device["current"] for device in listed) == [False, True]
    done = sign_out_others(second)
    assert described(done, OTHERS, "post") == {"signed_out": 1}
    phone.get("/")
    assert (signed_in_as(phone), signed_in_as(second)) == (None, "alice")


def test_nobody_signed_in_is_asked_to_sign_in():
    anonymous = Client(enforce_csrf_checks=True)
    refused = described(anonymous.get(reverse("qrauth_api_devices")), LIST, "get")
    assert refused["error"]["code"] == "not_authenticated"
    assert described(sign_out_others(anonymous), OTHERS, "post")["error"]["code"] in (
        "csrf_failed",
        "not_authenticated",
    )


def test_the_twin_is_off_with_the_records(alice, settings):
    settings.AUTH_QR_CODE_RECORD_SIGNINS = False
    refused = described(app_of(alice).get(reverse("qrauth_api_devices")), LIST, "get")
    assert refused["error"]["code"] == "not_found"


def test_the_list_says_nothing_of_sessions_or_tokens(desktop, phone, alice):
    hand_off(desktop, phone)
    app = app_of(alice)
    body = json.dumps(devices(app))
    assert phone.session.session_key not in body
    assert Token.objects.get(user=alice).key not in body


@pytest.mark.parametrize("body", [b"[]", b"1", b"not json"])
def test_a_sign_out_whose_body_is_not_a_json_object_is_a_bad_request(alice, body):
    url = reverse("qrauth_api_devices_sign_out_others")
    response = app_of(alice).post(url, body, content_type="application/json")
    assert described(response, OTHERS, "post")["error"]["code"] == "bad_request"
