"""Anonymous traffic cannot fill the session store: a request refused with
429 or 503 writes no session, so a flood from one address writes at most
as many sessions as the limits let codes through. (The session engine is
the database here: its rows are what a flood would fill.)"""

from __future__ import annotations

import pytest
import redis
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from qrauth import store
from qrauth.conf import settings as qrauth_settings

from .journeys import open_signin

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis"), pytest.mark.slow]

SIGNIN = reverse("qrauth_signin")


def test_a_thousand_cookieless_requests_write_no_more_sessions_than_the_limits_allow():
    allowed, _ = qrauth_settings.APPROVE_ORDERS_PER_IP
    flood = Client(REMOTE_ADDR="198.51.100.7")
    answers = []
    for _ in range(1000):
        flood.cookies.clear()  # no cookie: a new session each time
        answers.append(flood.get(SIGNIN).status_code)
    assert answers.count(200) == allowed and answers.count(429) == 1000 - allowed
    assert Session.objects.count() == allowed


def test_a_browser_refused_at_its_session_limit_keeps_its_session_row_as_it_was(settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (1, 60)
    computer = Client(REMOTE_ADDR="203.0.113.7")
    open_signin(computer)
    row = Session.objects.get()
    assert computer.get(SIGNIN).status_code == 429
    assert Session.objects.get().session_data == row.session_data


def test_a_request_refused_while_redis_is_down_writes_no_session():
    store._breaker._failed(redis.ConnectionError("down"))  # Redis just failed: 503 for a while
    assert Client().get(SIGNIN).status_code == 503
    assert Session.objects.count() == 0
