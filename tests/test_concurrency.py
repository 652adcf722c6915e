"""Single use under concurrency, against a real Redis server.

Twenty browsers POST the same code at the same moment; exactly one may be
signed in. The second test shows the harness is able to fail: with a store
that reads and then deletes in two steps, every racer gets in. For the
approve flow: twenty phones answer one order (one claims it), and twenty
tabs collect one approval (one signs in). And twenty browsers cannot take
a rate limit's last places twice.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.db import connection
from django.test import Client
from django.urls import reverse

from qrauth import store

from .helpers import browser_of, scan

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


def race(actions) -> list:
    """Run each of ``actions`` in its own thread, all released at once."""
    start = threading.Barrier(len(actions), timeout=30)
    results, errors = [], []

    def run(action):
        try:
            start.wait()
            results.append(action())
        except Exception as exc:  # collected: a thread's exception must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def scanned_approve_order(phones: list[Client]) -> tuple[Client, str, str, list[str]]:
    """A computer showing an approve code that ``phones`` have scanned:
    (computer, auth_code, scan path, the numbers its screen showed for
    each phone, in order: each phone's number is its own)."""
    computer = Client()
    auth_code = computer.get(reverse("qrauth_signin")).context["auth_code"]
    status_url = reverse("qrauth_status", args=[auth_code])
    path = urlsplit(computer.get(status_url).json()["frame"]).path
    numbers = []
    for phone in phones:
        assert phone.get(path, follow=True).status_code == 200  # the approve page
        numbers.append(computer.get(status_url).json()["number"])
    assert all(numbers)
    return computer, auth_code, path, numbers


def test_twenty_phones_racing_to_approve_one_wins_the_others_are_told(django_user_model):
    bob = django_user_model.objects.create_user("bob")
    phones = [browser_of(bob) for _ in range(RACERS)]
    computer, auth_code, path, numbers = scanned_approve_order(phones)
    answers = race(
        [
            lambda p=phone, n=number: p.post(path, {"action": "approve", "number": n})
            for phone, number in zip(phones, numbers, strict=True)
        ]
    )
    assert sorted(answer.status_code for answer in answers) == [200] + [409] * (RACERS - 1)
    collect = reverse("qrauth_collect", args=[auth_code])
    again = [computer.post(collect, {"confirm": "account"}) for _ in range(2)]
    assert [answer.status_code for answer in again] == [302, 404]
    assert computer.session[SESSION_KEY] == str(bob.pk)


def test_twenty_collects_of_one_approval_sign_in_once(django_user_model):
    phone = browser_of(django_user_model.objects.create_user("bob"))
    computer, auth_code, path, [number] = scanned_approve_order([phone])
    phone.post(path, {"action": "approve", "number": number})
    # Twenty tabs of the same browser (its cookies) collect at once.
    tabs = [Client() for _ in range(RACERS)]
    for tab in tabs:
        tab.cookies.update(computer.cookies)
    collect = reverse("qrauth_collect", args=[auth_code])
    answers = race([lambda t=tab: t.post(collect, {"confirm": "account"}) for tab in tabs])
    assert [answer.status_code for answer in answers].count(302) == 1


def test_a_double_tap_on_approve_is_one_answer_not_another_device(django_user_model):
    phone = browser_of(django_user_model.objects.create_user("bob"))
    computer, auth_code, path, [number] = scanned_approve_order([phone])
    # Two requests of one phone session at once: both are this session's.
    cookie = phone.cookies[settings.SESSION_COOKIE_NAME].value
    taps = [Client() for _ in range(2)]
    for tap in taps:
        tap.cookies[settings.SESSION_COOKIE_NAME] = cookie
    answers = race(
        [lambda t=t: t.post(path, {"action": "approve", "number": number}) for t in taps]
    )
    assert [answer.status_code for answer in answers] == [200, 200]
    assert phone.get(path).status_code == 200


def test_twenty_browsers_at_once_cannot_overrun_a_rate_limit(alice, settings):
    """Two requests cannot both take a limit's last place."""
    settings.AUTH_QR_CODE_ORDERS_PER_USER = (5, 600)
    browsers = [browser_of(alice) for _ in range(20)]
    answers = race(
        [lambda browser=browser: browser.get(reverse("qr_code_page")) for browser in browsers]
    )
    assert sorted(response.status_code for response in answers) == [200] * 5 + [429] * 15
