"""The order store: what Redis holds, and each transition on its own."""

from __future__ import annotations

import fakeredis
import pytest
from django.test import Client
from django.urls import reverse

from qrauth import store, tokens

from .helpers import everything_in_redis, open_qr_page, scan
from .redis_servers import use_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

INVALID = reverse("invalid_auth_code")


def static(order_id: str) -> tokens.ScanToken:
    return tokens.ScanToken(order_id, None)


def issue(binding="b" * 22, user_id=1) -> str:
    order_id = tokens.new_secret()
    store.issue_order(order_id, user_id, "auth-digest", tokens.binding_digest(binding), "sealed")
    return order_id


def test_redis_holds_nothing_usable_as_a_url(desktop, phone, qr_redis):
    path = scan(desktop)
    phone.get(path)
    token = path.strip("/").split("/")[-1]
    order_id, code = token.split(".")
    binding_secret = desktop.session["qrauth_session"]
    dump = everything_in_redis(qr_redis)
    for secret in (order_id, code, binding_secret, desktop.session.session_key):
        assert secret not in dump
    for word in dump.split():
        for name in ("qr_code_login", "auth_qr_code"):
            response = Client().get(reverse(name, args=[word]))
            assert response.status_code in (302, 404)
            if response.status_code == 302:
                assert response["Location"] == INVALID


def test_one_key_per_order_with_a_hash_tag_and_the_prefix(desktop, qr_redis, settings):
    settings.AUTH_QR_CODE_KEY_PREFIX = "site7"
    auth_code = open_qr_page(desktop)
    keys = [key.decode() for key in qr_redis.scan_iter()]
    orders = [key for key in keys if not key.startswith("site7:limit:")]
    assert orders == [f"site7:{{{tokens.order_ref(auth_code)}}}"]
    # Beside it, the rate limits' counters: each its own hash tag too.
    counters = sorted(key.split("{")[0] for key in keys if key not in orders)
    assert counters == ["site7:limit:orders_per_session:", "site7:limit:orders_per_user:"]


def test_issue_sets_the_lifetime(qr_redis, settings):
    settings.AUTH_QR_CODE_EXPIRATION_TIME = 120
    order_id = issue()
    assert 118 <= qr_redis.ttl(store.order_key(order_id)) <= 120
    order = store.peek_order(order_id)
    assert (order.state_name, order.user_id, order.minted) == ("pending", "1", False)


def test_mint_needs_the_binding_and_the_user():
    order_id = issue(binding="x" * 22, user_id=7)
    assert store.picture_created(order_id, tokens.binding_digest("y" * 22), 7) is None
    assert store.picture_created(order_id, tokens.binding_digest("x" * 22), 8) is None
    assert not store.peek_order(order_id).minted
    created = store.picture_created(order_id, tokens.binding_digest("x" * 22), 7)
    assert created == store.peek_order(order_id).created
    assert store.peek_order(order_id).minted


def test_scan_records_the_device_but_never_consumes():
    order_id = issue()
    assert store.picture_created(order_id, tokens.binding_digest("b" * 22), 1) is not None
    for device in ("Safari on iOS", "Chrome on Android"):
        order = store.record_scan(static(order_id), device)
        assert (order.state_name, order.device) == ("scanned", device)
    assert store.consume_order(static(order_id), "Chrome on Android").state_name == "consumed"


def test_scan_of_an_unminted_order_records_nothing():
    order_id = issue()
    assert store.record_scan(static(order_id), "Safari on iOS").state_name == "pending"
    assert store.consume_order(static(order_id), "Safari on iOS") is None


def test_consume_succeeds_once():
    order_id = issue()
    assert store.picture_created(order_id, tokens.binding_digest("b" * 22), 1) is not None
    assert store.consume_order(static(order_id), "phone") is not None
    assert store.consume_order(static(order_id), "phone") is None
    assert store.record_scan(static(order_id), "phone").state_name == "consumed"


def test_cancel_needs_the_binding():
    order_id = issue(binding="x" * 22)
    assert store.picture_created(order_id, tokens.binding_digest("x" * 22), 1) is not None
    assert not store.cancel_order(order_id, tokens.binding_digest("y" * 22))
    assert store.cancel_order(order_id, tokens.binding_digest("x" * 22))
    assert store.consume_order(static(order_id), "phone") is None
    assert store.peek_order(order_id).state_name == "cancelled"


def test_unknown_orders():
    order_id = tokens.new_secret()
    assert store.peek_order(order_id) is None
    assert store.record_scan(static(order_id), "phone") is None
    assert store.consume_order(static(order_id), "phone") is None
    assert not store.cancel_order(order_id, "digest")
    assert store.picture_created(order_id, "digest", 1) is None


def test_device_description_is_capped():
    order_id = issue()
    assert store.picture_created(order_id, tokens.binding_digest("b" * 22), 1) is not None
    assert len(store.record_scan(static(order_id), "x" * 10_000).device) == 80


def test_a_client_that_decodes_responses_works_too():
    use_client(fakeredis.FakeRedis(decode_responses=True))
    store.reset_client()
    order_id = issue()
    assert store.picture_created(order_id, tokens.binding_digest("b" * 22), 1) is not None
    assert store.consume_order(static(order_id), "phone").user_id == "1"


def test_the_issue_pipeline_survives_a_redis_that_forgot_its_scripts(desktop, qr_redis):
    """After a restart Redis knows no script: each call of the one-round-trip
    issue (count the limits, cancel the previous order, store the new one)
    loads its script and runs anyway."""
    first = open_qr_page(desktop)
    qr_redis.script_flush()
    second = open_qr_page(desktop)
    assert store.peek_order(first).state_name == "cancelled"
    assert store.peek_order(second).state_name == "pending"
    counters = [key for key in qr_redis.scan_iter() if b":limit:" in key]
    assert sorted(int(qr_redis.get(key)) for key in counters) == [2, 2]
