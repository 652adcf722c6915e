"""Clients without an address: behind a server on a unix socket REMOTE_ADDR
is empty. The per-address limits must not turn off for them: they share one
"unknown" bucket, and the site is told, once, how to pass the address."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from qrauth import devices, tokens
from qrauth.limits import network_of

from .test_limits import INVALID, SIGNIN, assert_limited, garbage_scan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]


def no_address() -> Client:
    """A fresh browser, as a server on a unix socket passes it: no address."""
    return Client(REMOTE_ADDR="")


def unknown_address(request) -> str:
    """A site's AUTH_QR_CODE_TRUSTED_PROXIES callable that finds nothing."""
    return ""


@pytest.fixture
def first_in_process():
    """The process has not met a client without an address yet."""
    devices._say_no_address.cache_clear()
    yield
    devices._say_no_address.cache_clear()


@pytest.mark.parametrize("proxies", [0, f"{__name__}.unknown_address"])
def test_clients_without_an_address_share_one_bucket_of_scan_failures(settings, proxies):
    settings.AUTH_QR_CODE_TRUSTED_PROXIES = proxies
    settings.AUTH_QR_CODE_SCAN_FAILURES_PER_IP = (3, 300)
    for _ in range(3):
        assert garbage_scan(no_address())["Location"] == INVALID
    assert_limited(garbage_scan(no_address()), 300)


def test_clients_without_an_address_share_one_bucket_of_approve_orders(settings):
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_IP = (2, 60)
    for _ in range(2):
        assert no_address().get(SIGNIN).status_code == 200
    assert_limited(no_address().get(SIGNIN), 60)


def test_a_known_address_keeps_its_own_bucket(settings):
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_IP = (1, 60)
    assert no_address().get(SIGNIN).status_code == 200
    assert Client(REMOTE_ADDR="203.0.113.9").get(SIGNIN).status_code == 200
    # What some proxies forward when they do not know (RFC 7239) is no address either.
    assert Client(REMOTE_ADDR="unknown").get(SIGNIN).status_code == 429


@pytest.mark.usefixtures("first_in_process")
def test_the_first_client_without_an_address_is_logged_once(caplog):
    caplog.set_level(logging.WARNING, logger="qrauth")
    token = tokens.scan_token(tokens.new_secret())
    for _ in range(3):
        no_address().get(reverse("qr_code_login", args=[token]))
    no_address().get(SIGNIN)
    said = [r.getMessage() for r in caplog.records if r.name.startswith("qrauth")]
    assert len(said) == 1
    assert "REMOTE_ADDR" in said[0] and "AUTH_QR_CODE_TRUSTED_PROXIES" in said[0]
    assert not [part for part in [token, *token.split(".")] if part in said[0]]


def test_no_address_is_the_unknown_network():
    assert network_of("") == network_of("unknown") == "unknown"
