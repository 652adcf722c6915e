"""Rate limits: codes per browser session, per user and (approve) per
network; scan URLs whose code does not work, per network; and the minimum
interval between status polls of one order. Over a limit: 429 with
Retry-After, a page for people, JSON for the status endpoints."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from qrauth import store, tokens
from qrauth.limits import network_of
from qrauth.store import scripts

from .helpers import browser_of, hand_clock, open_qr_page, scan
from .test_approve import open_signin, phone_of, status

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

INVALID = reverse("invalid_auth_code")
QR_PAGE = reverse("qr_code_page")
SIGNIN = reverse("qrauth_signin")


@pytest.fixture
def computer():
    return Client(REMOTE_ADDR="203.0.113.7")


@pytest.fixture
def bobs_phone(bob):
    return phone_of(bob)


def limit_keys(qr_redis, name: str) -> list[bytes]:
    return list(qr_redis.scan_iter(match=f"qrauth:limit:{name}:*"))


def assert_limited(response, at_most: int) -> None:
    """A 429 for people: the page, Retry-After, and the QR pages' headers."""
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= at_most
    assert "qrauth/rate_limited.html" in [t.name for t in response.templates]
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"


def garbage_scan(client: Client, method: str = "get"):
    return getattr(client, method)(reverse("qr_code_login", args=["not-a-code"]))


# -- codes per browser session and per user ------------------------------------------


def test_a_browser_may_open_so_many_codes_then_waits(desktop, settings, qr_redis):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (3, 60)
    codes = [open_qr_page(desktop) for _ in range(3)]
    response = desktop.get(QR_PAGE)
    assert_limited(response, 60)
    wait = int(response["Retry-After"])
    minute = "1 minute" if wait == 60 else f"{wait} seconds"
    assert f"Please wait {minute} and try again." in response.content.decode()
    # The refused code was not kept, and the one before it was replaced.
    orders = [key for key in qr_redis.scan_iter() if b":limit:" not in key]
    assert len(orders) == 3
    assert store.peek_order(codes[-1]).state_name == "cancelled"


def test_the_window_is_a_redis_ttl_and_its_end_lets_codes_through_again(
    desktop, settings, qr_redis
):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (1, 45)
    open_qr_page(desktop)
    [counter] = limit_keys(qr_redis, "orders_per_session")
    assert 44 <= qr_redis.ttl(counter) <= 45  # never a counter without an end
    response = desktop.get(QR_PAGE)
    assert abs(int(response["Retry-After"]) - qr_redis.ttl(counter)) <= 1
    assert qr_redis.ttl(counter) <= 45  # a refusal does not push the end back
    qr_redis.delete(counter)  # what the window's end does
    assert desktop.get(QR_PAGE).status_code == 200


def test_the_session_limit_holds_for_each_browser_alone(alice, bob, settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (1, 60)
    first, second = browser_of(alice), browser_of(bob)
    assert first.get(QR_PAGE).status_code == 200
    assert first.get(QR_PAGE).status_code == 429
    assert second.get(QR_PAGE).status_code == 200


def test_a_user_may_open_so_many_codes_in_all_their_browsers(alice, bob, settings):
    settings.AUTH_QR_CODE_ORDERS_PER_USER = (3, 600)
    for _ in range(3):
        open_qr_page(browser_of(alice))  # a new session each time
    assert_limited(browser_of(alice).get(QR_PAGE), 600)
    assert browser_of(bob).get(QR_PAGE).status_code == 200


def test_a_refused_code_takes_two_round_trips_and_leaves_no_order(
    desktop, settings, qr_redis, round_trips
):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (2, 60)
    open_qr_page(desktop)
    open_qr_page(desktop)
    assert desktop.get(QR_PAGE).status_code == 429  # now Redis knows every script of the way
    round_trips.count = 0
    assert desktop.get(QR_PAGE).status_code == 429
    assert round_trips.count == 2  # counted and issued in one; the order deleted, counts given back
    assert len([key for key in qr_redis.scan_iter() if b":limit:" not in key]) == 2


def test_limits_can_be_turned_off(desktop, settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = None
    settings.AUTH_QR_CODE_ORDERS_PER_USER = None
    for _ in range(25):  # past both defaults
        assert desktop.get(QR_PAGE).status_code == 200


def test_the_defaults_allow_ten_codes_a_minute_per_browser(desktop):
    for _ in range(10):
        open_qr_page(desktop)
    assert_limited(desktop.get(QR_PAGE), 60)


# -- approve: codes per network --------------------------------------------------------


def anonymous(address: str, **headers) -> Client:
    return Client(REMOTE_ADDR=address, **headers)


def test_anonymous_codes_are_limited_per_address_not_per_session(settings):
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_IP = (3, 60)
    for _ in range(3):
        open_signin(anonymous("203.0.113.9"))  # a fresh session costs nothing
    assert_limited(anonymous("203.0.113.9").get(SIGNIN), 60)
    assert anonymous("203.0.113.10").get(SIGNIN).status_code == 200


def test_an_ipv6_network_is_one_address(settings):
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_IP = (2, 60)
    open_signin(anonymous("2001:db8:1:2::1"))
    open_signin(anonymous("2001:db8:1:2:ffff::9"))  # the same /64
    assert anonymous("2001:db8:1:2::abcd").get(SIGNIN).status_code == 429
    assert anonymous("2001:db8:1:3::1").get(SIGNIN).status_code == 200


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("not an address", "not an address"),
    ],
)
def test_network_of(address, network):
    assert network_of(address) == network


def test_a_forged_forwarded_for_does_not_escape_the_limit(settings):
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_IP = (2, 60)
    for n in range(2):
        open_signin(anonymous("203.0.113.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"))
    forged = anonymous("203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert forged.get(SIGNIN).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(settings):
    settings.AUTH_QR_CODE_TRUSTED_PROXIES = 1
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_IP = (1, 60)
    proxy = "10.0.0.2"
    open_signin(anonymous(proxy, HTTP_X_FORWARDED_FOR="198.51.100.1"))
    assert anonymous(proxy, HTTP_X_FORWARDED_FOR="198.51.100.1").get(SIGNIN).status_code == 429
    assert anonymous(proxy, HTTP_X_FORWARDED_FOR="198.51.100.2").get(SIGNIN).status_code == 200


def test_an_anonymous_browser_is_also_held_to_its_session_limit(settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (2, 60)
    computer = anonymous("203.0.113.9")
    open_signin(computer)
    open_signin(computer)
    assert computer.get(SIGNIN).status_code == 429


# -- scan URLs whose code does not work, per network -------------------------------------


def test_codes_that_do_not_work_are_limited_per_network(settings, caplog):
    settings.AUTH_QR_CODE_SCAN_FAILURES_PER_IP = (3, 300)
    caplog.set_level(logging.WARNING, logger="qrauth")
    attacker = anonymous("198.51.100.66")
    for method in ("get", "post", "head"):
        assert garbage_scan(attacker, method)["Location"] == INVALID
    for method in ("get", "post", "head"):
        assert_limited(garbage_scan(attacker, method), 300)
    assert garbage_scan(anonymous("198.51.100.67"))["Location"] == INVALID
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("qrauth")]
    # Once when the limit is reached, not once a request; with the address.
    assert warnings == [
        "qrauth: rate limit scan_failures_per_ip reached by 198.51.100.66; refusing for 300 s"
    ]


def test_every_kind_of_failure_counts(desktop, alice, settings, clock, qr_redis):
    settings.AUTH_QR_CODE_SCAN_FAILURES_PER_IP = (100, 300)
    phone = anonymous("198.51.100.66")
    other_desktop = browser_of(alice)
    stale = urlsplit(status(other_desktop, open_qr_page(other_desktop))["frame"]).path
    used = scan(desktop)
    phone.post(used)
    clock.now += 60
    failures = [
        reverse("qr_code_login", args=["x"]),  # not a token
        reverse("qr_code_login", args=[tokens.scan_token(tokens.new_secret())]),  # forged
        used,  # used up
        stale,  # a frame no longer on the screen
        reverse("qrauth_approve", args=["x"]),
        reverse("qrauth_approve", args=[tokens.scan_token(tokens.new_secret())]),
    ]
    for path in failures:
        phone.get(path)
    [counter] = limit_keys(qr_redis, "scan_failures_per_ip")
    assert int(qr_redis.get(counter)) == len(failures)


def status_json(response) -> dict:
    return json.loads(response.content)


def test_a_working_code_is_never_refused_for_its_networks_failures(desktop, alice, settings):
    """Phones share addresses (carrier NAT): a bad neighbour must not lock
    everyone behind the same address out. Codes cannot be guessed anyway."""
    settings.AUTH_QR_CODE_SCAN_FAILURES_PER_IP = (1, 300)
    neighbour = anonymous("198.51.100.66")
    garbage_scan(neighbour)
    assert garbage_scan(neighbour).status_code == 429
    phone = anonymous("198.51.100.66")
    path = scan(desktop)
    assert phone.get(path, follow=True).status_code == 200
    response = phone.post(path)
    assert response.status_code == 302 and response["Location"] != INVALID
    assert phone.session["_auth_user_id"] == str(alice.pk)


def test_the_failure_counter_keeps_no_address_or_token(settings, qr_redis):
    settings.AUTH_QR_CODE_SCAN_FAILURES_PER_IP = (5, 300)
    garbage_scan(anonymous("198.51.100.66"))
    [counter] = limit_keys(qr_redis, "scan_failures_per_ip")
    assert b"198.51.100.66" not in counter
    assert qr_redis.get(counter) == b"1"


# -- the minimum interval between status polls --------------------------------------------


@pytest.fixture
def ms_clock(monkeypatch, settings):
    settings.AUTH_QR_CODE_STATUS_INTERVAL = 0.5
    return hand_clock(monkeypatch, "now_ms", 1_800_000_000_000)


def poll(browser: Client, auth_code: str):
    return browser.get(reverse("qrauth_status", args=[auth_code]))


def test_a_poll_sooner_than_the_interval_is_told_to_slow_down(desktop, ms_clock):
    auth_code = open_qr_page(desktop)
    assert poll(desktop, auth_code).status_code == 200
    ms_clock.now += 200
    response = poll(desktop, auth_code)
    assert response.status_code == 429
    assert response["Retry-After"] == "1"  # whole seconds, rounded up
    assert "no-store" in response["Cache-Control"]
    answer = status_json(response)
    assert (answer["state"], answer["hint"], answer["retry_after"]) == ("pending", "slow_down", 1)
    assert answer["frame"] is None
    ms_clock.now += 299
    assert poll(desktop, auth_code).status_code == 429  # refusals do not count as polls
    ms_clock.now += 1
    assert poll(desktop, auth_code).status_code == 200  # 500 ms after the last let through


def test_a_poll_once_a_second_is_never_refused(desktop, ms_clock):
    auth_code = open_qr_page(desktop)
    for _ in range(5):
        assert poll(desktop, auth_code).status_code == 200
        ms_clock.now += 1000


def test_the_interval_is_per_order(desktop, computer, ms_clock):
    handoff = open_qr_page(desktop)
    approve = open_signin(computer)
    assert poll(desktop, handoff).status_code == 200
    assert poll(computer, approve).status_code == 200


def test_slowing_down_changes_nothing_and_misses_nothing(computer, bobs_phone, ms_clock, settings):
    settings.AUTH_QR_CODE_NUMBER_MATCHING = False
    auth_code = open_signin(computer)
    path = urlsplit(status_json(poll(computer, auth_code))["frame"]).path
    bobs_phone.get(path)
    bobs_phone.post(path, {"action": "approve"})
    ms_clock.now += 100
    assert poll(computer, auth_code).status_code == 429
    ms_clock.now += 400
    assert status_json(poll(computer, auth_code))["hint"] == "approved"
    collect = reverse("qrauth_collect", args=[auth_code])
    collected = computer.post(collect, {"confirm": "account"})
    assert collected.status_code == 302


def test_another_browser_still_gets_a_404_not_a_429(desktop, alice, ms_clock):
    auth_code = open_qr_page(desktop)
    poll(desktop, auth_code)
    assert poll(browser_of(alice), auth_code).status_code == 404


def test_a_server_whose_clock_is_behind_is_let_through(desktop, ms_clock):
    auth_code = open_qr_page(desktop)
    poll(desktop, auth_code)
    ms_clock.now -= 2000  # another web server, two seconds behind
    assert poll(desktop, auth_code).status_code == 200


def test_no_interval_when_it_is_zero(desktop, ms_clock, settings):
    settings.AUTH_QR_CODE_STATUS_INTERVAL = 0
    auth_code = open_qr_page(desktop)
    for _ in range(3):
        assert poll(desktop, auth_code).status_code == 200


def test_the_waiting_phone_has_its_own_interval(desktop, ms_clock, settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    phone = anonymous("198.51.100.23")
    auth_code = open_qr_page(desktop)
    path = urlsplit(status_json(poll(desktop, auth_code))["frame"]).path
    phone.get(path)
    phone.post(path)
    wait = reverse("qrauth_handoff_wait", args=[path.strip("/").rsplit("/", 1)[1]])
    ms_clock.now += 100
    assert phone.get(wait).status_code == 200  # the desktop's poll is not the phone's
    assert poll(desktop, auth_code).status_code == 429
    response = phone.get(wait)
    assert response.status_code == 429
    assert status_json(response)["hint"] == "slow_down"
    ms_clock.now += 500
    assert phone.get(wait).status_code == 200


# -- approve: codes per site (a memory guard) ------------------------------------------


def test_the_whole_site_may_open_so_many_approve_codes(settings, caplog, desktop):
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_SITE = (3, 300)
    caplog.set_level(logging.WARNING, logger="qrauth")
    for n in range(3):
        open_signin(anonymous(f"203.0.113.{n}"))  # each address well under its own limit
    for n in range(3, 5):
        assert_limited(anonymous(f"203.0.113.{n}").get(SIGNIN), 300)
    assert open_qr_page(desktop)  # hand-off codes are not counted
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("qrauth")]
    # Once when the limit is reached, not once a request.
    assert warnings == ["qrauth: rate limit approve_orders_per_site reached; refusing for 300 s"]


def test_codes_refused_to_one_address_do_not_use_up_the_site(settings):
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_IP = (1, 60)
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_SITE = (3, 300)
    flood = anonymous("198.51.100.66")
    answers = [flood.get(SIGNIN).status_code for _ in range(20)]
    assert answers.count(200) == 1  # and 19 refused: no code, no memory
    for n in range(2):
        open_signin(anonymous(f"203.0.113.{n}"))
    assert anonymous("203.0.113.9").get(SIGNIN).status_code == 429


def test_the_site_limit_can_be_turned_off(settings):
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_SITE = None
    settings.AUTH_QR_CODE_APPROVE_ORDERS_PER_IP = None
    for _ in range(3):
        open_signin(anonymous("203.0.113.9"))
    assert not limit_keys(store.get_redis(), "approve_orders_per_site")


def test_a_count_given_back_never_leaves_a_counter_without_an_end(qr_redis):
    key = "qrauth:limit:approve_orders_per_site:{site}"
    store.default.run_all([(scripts.UNHIT, key, [])])  # its window ended meanwhile
    assert not qr_redis.exists(key)
    qr_redis.set(key, 2, ex=60)
    store.default.run_all([(scripts.UNHIT, key, [])])
    assert qr_redis.get(key) == b"1" and 0 < qr_redis.ttl(key) <= 60
