"""No lost and no duplicated sign-ins: 50 threads race over 1,000 open
hand-off orders against a real Redis, every order claimed by two threads
at once, on a database the threads share. Each order must sign in exactly
one phone, and every order must sign in one.

All the phones share one address, so the 1,000 losing claims (codes used
up a moment before) soon pass AUTH_QR_CODE_SCAN_FAILURES_PER_IP and get
429s; that must never cost a winning claim its sign-in."""

from __future__ import annotations

import random
import threading
from collections import Counter
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.test import Client
from django.urls import reverse

from qrauth import sessions, signals, store, tokens

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("real_redis"),
    pytest.mark.slow,
]

ORDERS = 1000
THREADS = 50
CLAIMS_PER_ORDER = 2


def open_order(user) -> str:
    """What the QR page and its image do, without the HTTP: a signed-in
    desktop session bound to a new order whose static code is minted."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    order_id = tokens.new_secret()
    secret = tokens.new_secret()
    session["qrauth"] = {"handoff": [order_id, secret]}  # as sessions before 0.3 kept it
    session.save()
    digest = tokens.binding_digest(secret)
    issuer = sessions.seal_session_key(order_id, session.session_key)
    store.issue_order(order_id, user.pk, tokens.auth_digest(user), digest, issuer)
    assert store.picture_created(order_id, digest, user.pk) is not None
    return reverse("qr_code_login", args=[tokens.scan_token(order_id)])


def test_fifty_threads_over_a_thousand_orders_sign_in_each_exactly_once(alice):
    paths = [open_order(alice) for _ in range(ORDERS)]
    claims = paths * CLAIMS_PER_ORDER
    random.Random(7).shuffle(claims)
    work = iter(claims)
    lock = threading.Lock()
    signed_in: Counter[str] = Counter()
    answers: Counter[int] = Counter()
    errors: list[Exception] = []

    def count(sender, order_ref, **kwargs):
        with lock:
            signed_in[order_ref] += 1

    def worker():
        try:
            while True:
                with lock:
                    path = next(work, None)
                if path is None:
                    return
                response = Client().post(path)
                assert response.status_code in (302, 429), response.status_code
                with lock:
                    answers[response.status_code] += 1
        except Exception as exc:  # collected: a thread's exception must fail the test
            errors.append(exc)
        finally:
            connection.close()

    signals.signed_in.connect(count, dispatch_uid="load-race")
    try:
        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    finally:
        signals.signed_in.disconnect(dispatch_uid="load-race")
    assert not errors, errors[:3]
    refs = {
        tokens.order_ref(tokens.parse_scan_token(p.strip("/").rsplit("/", 1)[1]).order_id)
        for p in paths
    }
    assert set(signed_in) == refs  # none lost
    assert set(signed_in.values()) == {1}  # none twice
    assert answers[429] > 0  # the failure limit was on, and passed
