"""Redis down or hung: a 503 page for people, logged once, no traceback; the
rest of the site keeps working, and qrauth recovers without a restart."""

from __future__ import annotations

import logging
import time

import pytest
import redis
from django.urls import reverse

from qrauth import store, tokens

from .helpers import hand_clock
from .redis_servers import free_port, silent_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The circuit breaker's monotonic clock, moved by hand."""
    return hand_clock(monkeypatch, "monotonic", 1000.0)


def unknown_scan_path() -> str:
    return reverse("qr_code_login", args=[tokens.scan_token(tokens.new_secret())])


def qrauth_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "qrauth.store.availability"]


def test_redis_down_gives_a_503_page_logged_once(own_server, desktop, phone, clock, caplog):
    own_server.stop()
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        for response in (desktop.get(reverse("qr_code_page")), phone.get(unknown_scan_path())):
            assert response.status_code == 503
            assert "qrauth/unavailable.html" in [t.name for t in response.templates]
            assert response["Retry-After"] == "5"
            assert response["X-Frame-Options"] == "DENY"
        clock.now += 10  # past the back-off: Redis is tried (and fails) again
    messages = qrauth_warnings(caplog)
    assert len(messages) == 1
    assert "unavailable" in messages[0]
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_the_rest_of_the_site_and_logout_keep_working(own_server, desktop):
    scan_path = desktop.get(reverse("qr_code_page"))  # binds an order to the session
    assert scan_path.status_code == 200
    own_server.stop()
    assert desktop.get("/").content == b"home: alice"
    desktop.logout()  # cancelling the order fails; logging out must not
    assert desktop.get("/").content == b"home: anonymous"


def test_recovers_without_a_restart(own_server, desktop, clock, caplog):
    caplog.set_level(logging.WARNING, logger="qrauth.store.availability")
    own_server.stop()
    assert desktop.get(reverse("qr_code_page")).status_code == 503
    own_server.start()
    # Within the back-off, qrauth does not even try.
    assert desktop.get(reverse("qr_code_page")).status_code == 503
    clock.now += 5
    assert desktop.get(reverse("qr_code_page")).status_code == 200
    assert qrauth_warnings(caplog)[-1] == "qrauth: Redis is reachable again"


def test_a_hung_redis_times_out_then_fails_fast(settings, desktop):
    sock, port = silent_server()
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = None
    settings.AUTH_QR_CODE_REDIS_KWARGS = {"port": port, "socket_timeout": 0.2}
    try:
        started = time.monotonic()
        assert desktop.get(reverse("qr_code_page")).status_code == 503
        first = time.monotonic() - started
        started = time.monotonic()
        assert desktop.get(reverse("qr_code_page")).status_code == 503
        second = time.monotonic() - started
    finally:
        sock.close()
        store.reset_client()
    assert first < 2  # two attempts of 0.2 s each, plus overhead; never a hung worker
    assert second < 0.2  # the breaker answers without waiting on Redis


def test_default_client_has_timeouts(settings):
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = None
    settings.AUTH_QR_CODE_REDIS_KWARGS = {"host": "localhost", "db": 3}
    try:
        kwargs = store.get_redis().connection_pool.connection_kwargs
    finally:
        store.reset_client()
    assert kwargs["socket_timeout"] == 1.0
    assert kwargs["socket_connect_timeout"] == 1.0
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("localhost", 6379, 3)


def test_a_read_only_replica_is_an_outage_too(own_server, desktop, redis_server):
    replica = redis.Redis.from_url(own_server.url)
    replica.replicaof("127.0.0.1", redis_server.port)  # writes now fail with READONLY
    try:
        assert desktop.get(reverse("qr_code_page")).status_code == 503
    finally:
        replica.replicaof("NO", "ONE")
        replica.close()


def test_redis_out_of_memory_is_an_outage_and_logout_still_works(own_server, desktop):
    desktop.get(reverse("qr_code_page"))
    redis.Redis.from_url(own_server.url).config_set("maxmemory", 1)
    assert desktop.get(reverse("qr_code_page")).status_code == 503
    desktop.logout()
    assert desktop.get("/").content == b"home: anonymous"


def unreachable_cluster():
    """AUTH_QR_CODE_REDIS_CLIENT_FACTORY: a cluster that is not there."""
    from redis.cluster import RedisCluster

    return RedisCluster(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)


def test_an_unreachable_cluster_is_an_outage(settings, desktop):
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = f"{__name__}.unreachable_cluster"
    try:
        assert desktop.get(reverse("qr_code_page")).status_code == 503
    finally:
        store.reset_client()


def test_a_call_that_began_before_a_failure_does_not_end_the_outage(clock, caplog):
    caplog.set_level(logging.WARNING, logger="qrauth.store.availability")
    breaker = store._breaker

    def succeeds_while_another_request_fails():
        breaker._failed(redis.ConnectionError("another request's failure"))
        return "ok"

    assert breaker.call(succeeds_while_another_request_fails) == "ok"
    assert breaker.down
    with pytest.raises(store.StoreUnavailable):
        breaker.call(lambda: "not even tried")
    assert len(qrauth_warnings(caplog)) == 1


def test_after_the_back_off_one_request_probes_while_others_fail_fast(clock):
    breaker = store._breaker
    breaker._failed(redis.ConnectionError("down"))
    clock.now += 5
    calls = []

    def probe():
        calls.append("probe")
        with pytest.raises(store.StoreUnavailable):  # a concurrent request meanwhile
            breaker.call(lambda: calls.append("second"))
        return "up"

    assert breaker.call(probe) == "up"
    assert calls == ["probe"]
    assert not breaker.down
    assert breaker.call(lambda: "ok") == "ok"
