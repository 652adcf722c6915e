from __future__ import annotations

import fakeredis
import pytest
import redis
from django.contrib.auth import get_user_model
from django.test import Client

from qrauth import signals, store

from . import redis_servers
from .helpers import browser_of, hand_clock


@pytest.fixture(scope="session")
def redis_server():
    """One real redis-server for the whole run."""
    server = redis_servers.RedisServer().start()
    yield server
    server.cleanup()


def _use(client: redis.Redis):
    client.flushall()
    redis_servers.use_client(client)
    store.reset_client()
    yield client
    redis_servers.use_client(None)
    store.reset_client()


@pytest.fixture(params=["fakeredis", "redis-server"])
def qr_redis(request):
    """The store's Redis: each test runs on fakeredis and on a real server."""
    if request.param == "fakeredis":
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    else:
        client = redis.Redis.from_url(request.getfixturevalue("redis_server").url)
    yield from _use(client)
    client.close()


@pytest.fixture
def real_redis(redis_server):
    """The store's Redis is the real server only."""
    client = redis.Redis.from_url(redis_server.url)
    yield from _use(client)
    client.close()


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password="alice-password")


@pytest.fixture
def desktop(alice):
    """A browser signed in as alice."""
    return browser_of(alice)


@pytest.fixture
def phone():
    """A browser that is not signed in, with a phone's User-Agent."""
    return Client(
        HTTP_USER_AGENT=(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        )
    )


@pytest.fixture
def round_trips(qr_redis, monkeypatch):
    """Counts requests sent to Redis on the store's connections (a pipeline
    or a script is one): ``round_trips.count``."""

    class Counter:
        count = 0

    connection_class = qr_redis.connection_pool.connection_class
    send = connection_class.send_packed_command

    def counting_send(self, *args, **kwargs):
        Counter.count += 1
        return send(self, *args, **kwargs)

    qr_redis.ping()  # connect first: the handshake is not a round trip of ours
    monkeypatch.setattr(connection_class, "send_packed_command", counting_send)
    return Counter


@pytest.fixture
def sent():
    """Every qrauth signal sent during the test, as (name, sender, kwargs)."""
    received = []
    receivers = {}
    for name in signals.__all__:

        def receiver(sender, _name=name, **kwargs):
            received.append((_name, sender, kwargs))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver)
    yield received
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


@pytest.fixture
def clock(monkeypatch):
    """Wall-clock seconds as qrauth sees them (order ages, frames), standing
    still unless the test moves them: ``clock.now += 13``."""
    return hand_clock(monkeypatch, "now", 1_800_000_000)


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", password="bob-password")


@pytest.fixture
def own_server(settings):
    """A redis-server of this test's own, that the test may stop and start."""
    server = redis_servers.RedisServer().start()
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = None
    settings.AUTH_QR_CODE_REDIS_URL = server.url
    yield server
    server.cleanup()
    store.reset_client()
