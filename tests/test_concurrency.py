"""Single use under concurrency, against a real Redis server.

Twenty browsers POST the same code at the same moment; exactly one may be
signed in. The second test shows the harness is able to fail: with a store
that reads and then deletes in two steps, every racer gets in.
"""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.db import connection
from django.test import Client

from qrauth import store

from .helpers import scan

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_redis")]

RACERS = 20


def race_confirmations(path: str) -> tuple[int, int]:
    """POST ``path`` from RACERS browsers at once.

    Returns (browsers whose session holds a user, user_logged_in signals).
    """
    start = threading.Barrier(RACERS, timeout=30)
    signed_in, logins, errors = [], [], []

    def count_login(**kwargs):
        logins.append(kwargs["user"].pk)

    def confirm():
        try:
            browser = Client()
            start.wait()
            browser.post(path)
            if browser.session.get(SESSION_KEY):
                signed_in.append(browser)
        except Exception as exc:  # collected: a thread's exception must fail the test
            errors.append(exc)
        finally:
            connection.close()

    user_logged_in.connect(count_login, weak=False, dispatch_uid="race")
    try:
        threads = [threading.Thread(target=confirm) for _ in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        user_logged_in.disconnect(dispatch_uid="race")
    assert not errors, errors
    return len(signed_in), len(logins)


def test_twenty_simultaneous_confirmations_sign_in_exactly_one(desktop):
    path = scan(desktop)
    Client().get(path)  # scanned, as a real phone would have
    assert race_confirmations(path) == (1, 1)


def test_the_race_catches_a_store_that_reads_then_deletes(desktop, monkeypatch):
    everyone_has_read = threading.Barrier(RACERS, timeout=30)

    def read_then_delete(token, device, vouched=False):
        order_id = token.order_id
        order = store.peek_order(order_id)
        everyone_has_read.wait()  # the widest window a two-step store leaves open
        if order is None or not order.is_open:
            return None
        store.get_redis().delete(store.order_key(order_id))
        return order

    monkeypatch.setattr(store, "consume_order", read_then_delete)
    signed_in, logins = race_confirmations(scan(desktop))
    assert signed_in == logins == RACERS  # caught: more than one browser got in
