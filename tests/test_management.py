"""``manage.py qrauth_status``: Redis reachable, its version, the orders by
flow and state, the rate-limit counters; counts only, no password; exit
code 2 when Redis is unreachable."""

from __future__ import annotations

import json
import logging
from io import StringIO

import fakeredis
import pytest
import redis
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from qrauth import store, tokens
from qrauth.management.commands.qrauth_status import mask_url

from .helpers import browser_of, open_qr_page, scan
from .redis_servers import free_port

pytestmark = pytest.mark.django_db
# On fakeredis and on a real redis-server; the outage tests point the store elsewhere.
uses_redis = pytest.mark.usefixtures("qr_redis")

PASSWORD = "s3cret-Pa55word"


def status(*args: str) -> str:
    out = StringIO()
    call_command("qrauth_status", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def status_data() -> dict:
    return json.loads(status("--json"))


def rows(data: dict) -> dict[tuple[str, str], int]:
    return {(r["flow"], r["state"]): r["count"] for r in data["orders"]["by_flow_and_state"]}


def counters(data: dict) -> dict[str, tuple[int, int]]:
    return {r["name"]: (r["counters"], r["at_limit"]) for r in data["rate_limits"]}


def open_some_orders(desktop: Client, bob, phone: Client) -> None:
    """alice's desktop: a hand-off code, replaced by a second (the first is
    cancelled); bob's desktop: a code that a phone scanned; an anonymous
    browser: an approve code."""
    open_qr_page(desktop)
    open_qr_page(desktop)
    assert phone.get(scan(browser_of(bob)), follow=True).status_code == 200
    assert Client().get(reverse("qrauth_signin")).status_code == 200


def test_empty_redis(qr_redis):
    text = status()
    first = text.splitlines()[0]
    assert first.startswith("Redis: reachable (")
    assert first.endswith(") at client factory tests.redis_servers.current_client")
    if isinstance(qr_redis, fakeredis.FakeRedis):
        assert "(version unknown)" in first  # fakeredis has no INFO
    else:
        assert f"(redis {qr_redis.info('server')['redis_version']})" in first
    assert "Orders: 0 open, 0 in all\n" in text
    assert "  orders_per_session       0 counters, 0 at the limit (10 per 60 s)" in text
    assert "  scan_failures_per_ip     0 counters, 0 at the limit (30 per 300 s)" in text
    assert "  approve_orders_per_site  0 counters, 0 at the limit (10000 per 300 s)" in text


@uses_redis
def test_orders_by_flow_and_state_and_the_counters(desktop, bob, phone):
    open_some_orders(desktop, bob, phone)
    text = status()
    assert "Orders: 3 open, 4 in all\n" in text
    lines = text.splitlines()
    start = lines.index("Orders: 3 open, 4 in all") + 1
    assert [line.split() for line in lines[start : start + 4]] == [
        ["handoff", "pending", "1"],
        ["handoff", "scanned", "1"],
        ["handoff", "cancelled", "1"],
        ["approve", "pending", "1"],
    ]
    # One counter per browser session that asked for a code, per user, per
    # network, and one for the whole site.
    assert "  orders_per_session       3 counters, 0 at the limit (10 per 60 s)" in text
    assert "  orders_per_user          2 counters, 0 at the limit (20 per 600 s)" in text
    assert "  approve_orders_per_ip    1 counter, 0 at the limit (60 per 60 s)" in text
    assert "  scan_failures_per_ip     0 counters, 0 at the limit (30 per 300 s)" in text
    assert "  approve_orders_per_site  1 counter, 0 at the limit (10000 per 300 s)" in text


@uses_redis
def test_json_matches_the_text(desktop, bob, phone):
    open_some_orders(desktop, bob, phone)
    data = status_data()
    assert data["reachable"] is True
    assert data["at"] == "client factory tests.redis_servers.current_client"
    assert data["cluster"] is False
    assert len(data["servers"]) == 1 and data["servers"][0]["node"] is None
    assert data["orders"]["total"] == 4 and data["orders"]["open"] == 3
    assert rows(data) == {
        ("handoff", "pending"): 1,
        ("handoff", "scanned"): 1,
        ("handoff", "cancelled"): 1,
        ("approve", "pending"): 1,
    }
    assert counters(data) == {
        "orders_per_session": (3, 0),
        "orders_per_user": (2, 0),
        "approve_orders_per_ip": (1, 0),
        "scan_failures_per_ip": (0, 0),
        "approve_orders_per_site": (1, 0),
    }
    limits = {r["name"]: r["limit"] for r in data["rate_limits"]}
    assert limits["orders_per_user"] == {"count": 20, "seconds": 600}


@uses_redis
def test_counters_at_the_limit_and_limits_turned_off(desktop, settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (2, 60)
    open_qr_page(desktop)
    open_qr_page(desktop)
    assert desktop.get(reverse("qr_code_page")).status_code == 429
    settings.AUTH_QR_CODE_ORDERS_PER_USER = None
    data = status_data()
    assert counters(data)["orders_per_session"] == (1, 1)  # over it counts as at it
    assert counters(data)["orders_per_user"] == (1, 0)  # the counter is there; the limit off
    assert [r["limit"] for r in data["rate_limits"]][:2] == [{"count": 2, "seconds": 60}, None]
    text = status()
    assert "  orders_per_session       1 counter, 1 at the limit (2 per 60 s)" in text
    assert "  orders_per_user          1 counter (off)" in text


def test_prints_counts_only_never_a_key(desktop, bob, phone, qr_redis):
    open_some_orders(desktop, bob, phone)
    output = status() + status("--json")
    keys = [key.decode() for key in qr_redis.scan_iter()]
    assert len(keys) == 11  # 4 orders, 7 counters
    for key in keys:
        tag = key.partition("{")[2].rstrip("}")
        assert tag not in output


def test_scan_never_keys(desktop, qr_redis, monkeypatch):
    open_qr_page(desktop)
    sent = []
    execute = qr_redis.execute_command

    def recording(*args, **kwargs):
        sent.append(str(args[0]).upper())
        return execute(*args, **kwargs)

    def no_keys(*args, **kwargs):
        raise AssertionError("KEYS blocks Redis: use SCAN")

    monkeypatch.setattr(qr_redis, "execute_command", recording)
    monkeypatch.setattr(qr_redis, "keys", no_keys)
    assert status_data()["orders"]["total"] == 1
    assert sent.count("SCAN") == 2  # orders, counters: one page each here
    assert "KEYS" not in sent


def test_reads_in_batches_not_a_round_trip_per_key(qr_redis, round_trips):
    for _ in range(30):  # no limits counted: only the orders are keys
        order_id = tokens.new_secret()
        store.issue_order(order_id, 1, "auth-digest", tokens.binding_digest("b" * 22), "sealed")
    round_trips.count = 0
    assert status_data()["orders"]["total"] == 30
    # INFO, a SCAN page and one pipelined HMGET of the orders, a SCAN of the counters.
    assert round_trips.count == 4
    round_trips.count = 0
    data = json.loads(status("--json", "--count", "7"))
    assert rows(data) == {("handoff", "pending"): 30}
    assert round_trips.count > 4  # pages and pipelines of 7 keys (and SCAN's own pages)


def test_a_key_prefix_is_matched_literally(desktop, qr_redis, settings):
    settings.AUTH_QR_CODE_KEY_PREFIX = "site*7"
    open_qr_page(desktop)
    # Keys that a glob "site*7:{*" would match, but are not this site's.
    qr_redis.hset("site-other-7:{abcdefghijklmnopqrstuv}", mapping={"f": "h", "s": "p"})
    qr_redis.set("site-other-7:limit:orders_per_user:{x}", 5)
    qr_redis.set("site*7:{not-a-hash}", 1)  # this site's prefix, but no order: skipped
    data = status_data()
    assert rows(data) == {("handoff", "pending"): 1}
    assert counters(data)["orders_per_user"] == (1, 0)


def unreachable_url() -> str:
    return f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"


@pytest.fixture
def unreachable(settings):
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = None
    settings.AUTH_QR_CODE_REDIS_URL = unreachable_url()
    yield
    store.reset_client()


@pytest.mark.usefixtures("unreachable")
def test_unreachable_redis_is_exit_code_2():
    with pytest.raises(CommandError) as raised:
        status()
    assert raised.value.returncode == 2
    message = str(raised.value)
    assert message.startswith("Redis is unreachable: ConnectionError: ")
    assert PASSWORD not in message


@pytest.mark.usefixtures("unreachable")
def test_unreachable_redis_from_the_command_line(capsys, caplog):
    caplog.set_level(logging.WARNING)
    with pytest.raises(SystemExit) as raised:
        execute_from_command_line(["manage.py", "qrauth_status"])
    # The breaker's "answering 503" warning is not for this command's reader.
    assert not [r for r in caplog.records if r.name.startswith("qrauth.store")]
    assert raised.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("CommandError: Redis is unreachable: ConnectionError: ")
    assert len(err.strip().splitlines()) == 1  # one line, no traceback
    assert PASSWORD not in err


@pytest.mark.usefixtures("unreachable")
def test_unreachable_redis_with_json():
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("qrauth_status", "--json", stdout=out, stderr=StringIO())
    data = json.loads(out.getvalue())
    assert data["reachable"] is False
    assert data["at"].startswith("redis://:***@127.0.0.1:")
    assert data["error"].startswith("ConnectionError: ")
    assert PASSWORD not in out.getvalue()


def test_an_unreachable_cluster_is_exit_code_2(settings):
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = "tests.test_unavailable.unreachable_cluster"
    try:
        with pytest.raises(CommandError) as raised:
            status()
    finally:
        store.reset_client()
    assert raised.value.returncode == 2
    assert str(raised.value).startswith("Redis is unreachable: ")


def test_a_password_in_the_url_is_never_printed(own_server, settings):
    with redis.Redis.from_url(own_server.url) as admin:
        admin.config_set("requirepass", PASSWORD)
    settings.AUTH_QR_CODE_REDIS_URL = f"redis://:{PASSWORD}@127.0.0.1:{own_server.port}/0"
    text, data = status(), status("--json")
    assert f"at redis://:***@127.0.0.1:{own_server.port}/0\n" in text
    assert json.loads(data)["at"] == f"redis://:***@127.0.0.1:{own_server.port}/0"
    assert PASSWORD not in text + data


def test_a_wrong_password_is_not_printed_either(own_server, settings):
    with redis.Redis.from_url(own_server.url) as admin:
        admin.config_set("requirepass", "the-right-one")
    settings.AUTH_QR_CODE_REDIS_URL = f"redis://:{PASSWORD}@127.0.0.1:{own_server.port}/0"
    with pytest.raises(CommandError) as raised:
        status()
    assert raised.value.returncode == 2
    assert PASSWORD not in str(raised.value)


def test_a_bad_setting_is_exit_code_1_without_its_password(settings):
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = None
    settings.AUTH_QR_CODE_REDIS_URL = f"http://:{PASSWORD}@127.0.0.1/0"  # not redis://
    try:
        with pytest.raises(CommandError) as raised:
            status()
    finally:
        store.reset_client()
    assert raised.value.returncode == 1
    assert "AUTH_QR_CODE_REDIS_URL must be" in str(raised.value)
    assert PASSWORD not in str(raised.value)


def test_password_in_kwargs_is_not_printed(settings):
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = None
    settings.AUTH_QR_CODE_REDIS_KWARGS = {"port": free_port(), "password": PASSWORD}
    try:
        with pytest.raises(CommandError) as raised:
            call_command("qrauth_status", "--json", stdout=(out := StringIO()))
    finally:
        store.reset_client()
    assert json.loads(out.getvalue())["at"].startswith("localhost:")
    assert PASSWORD not in out.getvalue() + str(raised.value)


@pytest.mark.parametrize(
    "url, shown",
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        (f"redis://:{PASSWORD}@redis.internal:6379/0", "redis://:***@redis.internal:6379/0"),
        (f"rediss://app:{PASSWORD}@redis.internal/2", "rediss://app:***@redis.internal/2"),
        (f"redis://{PASSWORD}@redis.internal", "redis://***@redis.internal"),
        (
            f"unix:///run/redis.sock?db=1&password={PASSWORD}",
            "unix:///run/redis.sock?db=1&password=***",
        ),
    ],
)
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_bad_count_is_refused():
    with pytest.raises(CommandError, match="--count must be 1 or more"):
        status("--count", "0")
