"""Push (AUTH_QR_CODE_PUSH): the waiting screens' event streams, read as a
browser's EventSource reads them, on fakeredis and on a real Redis.

The streams are Django's async views under its AsyncClient; the desktop and
the phone act with the ordinary Client, in a thread (their views are sync).
Their database is shared between threads: these tests are transactional.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing
from dataclasses import replace
from urllib.parse import urlsplit

import django
import pytest
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.urls import reverse
from django.utils import translation

from qrauth import store
from qrauth.flows import push
from qrauth.model import State
from qrauth.wording import describe

from .helpers import browser_of, open_qr_page, open_signin, status
from .push_streams import (
    DEADLINE,
    Stream,
    async_twin,
    frame_path,
    in_thread,
    open_stream,
    stream_of,
)

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def computer_and_bob(bob):
    """A computer that is not signed in, and bob's phone."""
    return Client(), browser_of(bob)


@pytest.fixture
async def listening():
    """The process's subscriber is listening on this test's Redis (it starts
    with the first stream, and reads every order again when it does). Ask
    for it after the Redis fixture."""
    with store.subscriber.watch("warming-up"):
        assert await in_thread(store.subscriber.subscribed.wait, DEADLINE)


@pytest.fixture
def fast_ticks(monkeypatch):
    """Frames every 50 ms instead of every second (the frame itself still
    changes with qrauth's clock, which the tests move)."""
    monkeypatch.setattr(push, "PERIOD", 0.05)


# -- the store announces every change ----------------------------------------


def test_every_transition_is_announced_on_the_events_channel(qr_redis, desktop, phone):
    listener = qr_redis.pubsub()
    listener.subscribe("qrauth:events")
    assert listener.get_message(timeout=1)["type"] == "subscribe"
    auth_code = open_qr_page(desktop)
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    phone.get(path, follow=True)
    desktop.post(reverse("qrauth_cancel", args=[auth_code]))
    heard = []
    while (message := listener.get_message(timeout=0.5)) is not None:
        heard.append(message["data"].decode().split(" "))
    key = store.order_key(auth_code)
    assert {who for who, _ in heard} == {key}
    # The scan URL's GET and the question it leads to each note the scan.
    assert [state for _, state in heard] in (["s", "x"], ["s", "s", "x"])
    listener.close()


# -- what a stream says -----------------------------------------------------------


async def test_the_first_event_is_the_status_the_poll_returns(qr_redis, desktop, clock):
    auth_code = await in_thread(open_qr_page, desktop)
    stream = await stream_of(desktop, auth_code)
    assert stream.response["Content-Type"] == "text/event-stream"
    assert "no-store" in stream.response["Cache-Control"]
    assert stream.response["X-Accel-Buffering"] == "no"
    assert stream.response["X-Frame-Options"] == "DENY"
    pushed = await stream.status()
    polled = await in_thread(status, desktop, auth_code)
    assert {**pushed, "expires_in": 0} == {**polled, "expires_in": 0}
    # The time left is Redis's own TTL, which runs on the wall clock, not
    # the test's: the poll, read later, may show a tenth of a second less.
    assert 0 <= pushed["expires_in"] - polled["expires_in"] <= 10
    assert 290 <= polled["expires_in"] <= 300
    assert 1000 <= stream.retry <= 5000


async def test_a_scan_reaches_the_screen_without_a_poll(qr_redis, computer_and_bob, clock):
    computer, bob = computer_and_bob
    auth_code = await in_thread(open_signin, computer)
    stream = await stream_of(computer, auth_code)
    first = await stream.status()
    assert first["hint"] == "not_scanned" and first["frame"]
    await in_thread(bob.get, frame_path(first), follow=True)
    scanned = await stream.status()
    assert scanned["hint"] == "scanned"
    assert scanned["number"] and scanned["show_code"] is False and scanned["frame"] is None
    answer = await in_thread(
        bob.post, frame_path(first), {"action": "approve", "number": scanned["number"]}
    )
    assert answer.status_code == 200
    approved = await stream.status()
    assert approved["hint"] == "approved"
    assert await stream.ended()  # final: the page collects


async def test_a_fresh_frame_every_second_without_asking_redis(
    qr_redis, desktop, clock, fast_ticks, listening, round_trips
):
    auth_code = await in_thread(open_qr_page, desktop)
    stream = await stream_of(desktop, auth_code)
    first = await stream.status()
    round_trips.count = 0
    clock.now += 1
    frames = {first["frame"]}
    while len(frames) < 2:
        frames.add((await stream.status())["frame"])
    clock.now += 1
    while len(frames) < 3:
        frames.add((await stream.status())["frame"])
    assert round_trips.count == 0
    # A tick's event is the poll's answer, whose frame it swapped in.
    clock.now += 1
    ticked = await stream.status()
    polled = await in_thread(status, desktop, auth_code)
    assert {**ticked, "expires_in": 0} == {**polled, "expires_in": 0}
    # Each is a frame the phone can use now.
    assert frame_path(first).rsplit(".", 2)[1] == "0"
    assert sorted(urlsplit(f).path.rsplit(".", 2)[1] for f in frames) == ["0", "1", "2"]
    assert frame_path(ticked).rsplit(".", 2)[1] == "3"


async def test_a_heartbeat_while_nothing_changes(qr_redis, computer_and_bob, monkeypatch):
    monkeypatch.setattr(push, "HEARTBEAT", 0.05)
    computer, bob = computer_and_bob
    auth_code = await in_thread(open_signin, computer)
    stream = await stream_of(computer, auth_code)
    first = await stream.status()
    await in_thread(bob.get, frame_path(first), follow=True)
    assert (await stream.status())["hint"] == "scanned"  # no frames from here on
    assert (await stream.next())[0] == "ping"


async def test_cancel_ends_the_stream(qr_redis, desktop):
    auth_code = await in_thread(open_qr_page, desktop)
    stream = await stream_of(desktop, auth_code)
    await stream.status()
    await in_thread(desktop.post, reverse("qrauth_cancel", args=[auth_code]))
    cancelled = await stream.status()
    assert cancelled["state"] == "failed" and cancelled["hint"] == "cancelled"
    assert await stream.ended()


async def test_the_stream_ends_when_the_order_expires(qr_redis, desktop, settings):
    settings.AUTH_QR_CODE_EXPIRATION_TIME = 1  # Redis's own clock expires it
    auth_code = await in_thread(open_qr_page, desktop)
    stream = await stream_of(desktop, auth_code)
    assert (await stream.status())["state"] == "pending"
    while (payload := await stream.status())["state"] == "pending":
        pass
    assert payload["hint"] == "expired"
    assert await stream.ended()


async def test_a_resumed_stream_starts_with_what_happened_meanwhile(
    qr_redis, computer_and_bob, clock
):
    computer, bob = computer_and_bob
    auth_code = await in_thread(open_signin, computer)
    stream = await stream_of(computer, auth_code)
    first = await stream.status()
    await stream._chunks.aclose()  # the connection dropped
    await in_thread(bob.get, frame_path(first), follow=True)
    number = (await in_thread(status, computer, auth_code))["number"]
    await in_thread(bob.post, frame_path(first), {"action": "approve", "number": number})
    resumed = await stream_of(computer, auth_code, last_event_id="not_scanned")
    assert (await resumed.status())["hint"] == "approved"
    assert await resumed.ended()


# -- who may listen ------------------------------------------------------------------


async def test_only_the_issuing_browser_may_listen(qr_redis, desktop, alice):
    auth_code = await in_thread(open_qr_page, desktop)
    same_user_other_browser = await in_thread(browser_of, alice)
    for browser in (Client(), same_user_other_browser):
        response = await open_stream(browser, auth_code)
        assert response.status_code == 404
    assert (await open_stream(desktop, "not-a-code")).status_code == 404


async def test_the_phone_waiting_for_its_desktop_hears_the_allow(
    qr_redis, settings, desktop, phone
):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    auth_code = await in_thread(open_qr_page, desktop)
    path = frame_path(await in_thread(status, desktop, auth_code))
    await in_thread(phone.get, path, follow=True)
    settings.AUTH_QR_CODE_PUSH = "on"  # as "auto" through ASGI, on Django 4.2 too
    waiting = await async_twin(phone).post(path)
    wait_code = waiting.context["auth_code"]
    events_url = reverse("qrauth_wait_events", args=[wait_code])
    assert f'data-qrauth-events="{events_url}"' in waiting.content.decode()
    assert (await open_stream(desktop, wait_code, "qrauth_wait_events")).status_code == 404
    stream = await stream_of_wait(phone, wait_code)
    assert (await stream.status())["hint"] == "waiting"
    decide = reverse("qrauth_handoff_decide", args=[auth_code])
    await in_thread(desktop.post, decide, {"action": "allow"})
    assert (await stream.status())["hint"] == "approved"
    assert await stream.ended()


async def stream_of_wait(browser: Client, auth_code: str) -> Stream:
    response = await open_stream(browser, auth_code, "qrauth_wait_events")
    assert response.status_code == 200
    return Stream(response)


# -- limits and switches -------------------------------------------------------------


async def test_open_streams_per_session_are_capped(qr_redis, desktop, settings):
    settings.AUTH_QR_CODE_STREAMS_PER_SESSION = 2
    auth_code = await in_thread(open_qr_page, desktop)
    first, second = await stream_of(desktop, auth_code), await stream_of(desktop, auth_code)
    await first.status(), await second.status()
    refused = await open_stream(desktop, auth_code)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert json.loads(refused.content)["hint"] == "slow_down"
    await in_thread(desktop.post, reverse("qrauth_cancel", args=[auth_code]))
    for stream in (first, second):  # both end, and count no more
        await stream.status()
        assert await stream.ended()
    auth_code = await in_thread(open_qr_page, desktop)
    assert (await open_stream_when_counted_down(desktop, auth_code)).status_code == 200


async def open_stream_when_counted_down(browser: Client, auth_code: str):
    """The stream count is given back in a thread as a stream ends: open
    once it is, within the deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while (response := await open_stream(browser, auth_code)).status_code == 429:
        assert loop.time() < end, "the ended streams still count"
        await asyncio.sleep(0.02)
    return response


async def test_open_streams_per_network_are_capped(qr_redis, settings, db):
    settings.AUTH_QR_CODE_STREAMS_PER_IP = 1
    computers = [Client(), Client()]
    codes = [await in_thread(open_signin, computer) for computer in computers]
    first = await stream_of(computers[0], codes[0])
    await first.status()
    assert (await open_stream(computers[1], codes[1])).status_code == 429


async def test_push_off_means_no_stream_and_a_polling_page(qr_redis, desktop, settings):
    settings.AUTH_QR_CODE_PUSH = "off"
    auth_code = await in_thread(open_qr_page, desktop)
    assert (await open_stream(desktop, auth_code)).status_code == 404
    page = await async_twin(desktop).get(reverse("qr_code_page"))
    assert b"data-qrauth-events" not in page.content


async def test_every_event_speaks_the_language_of_the_request(qr_redis, desktop, clock):
    auth_code = await in_thread(open_qr_page, desktop)
    stream = await stream_of(desktop, auth_code, accept_language="sv")
    swedish = await in_thread(
        desktop.get, reverse("qrauth_status", args=[auth_code]), headers={"accept-language": "sv"}
    )
    assert (await stream.status())["message"] == json.loads(swedish.content)["message"]
    await in_thread(desktop.post, reverse("qrauth_cancel", args=[auth_code]))
    cancelled = await stream.status()
    with translation.override("sv"):
        assert cancelled["message"] == describe(State.CANCELLED, flow="handoff")["message"]
    assert cancelled["message"] != describe(State.CANCELLED, flow="handoff")["message"]


@pytest.mark.parametrize("mode", ["auto", "on"])
def test_no_stream_under_wsgi(qr_redis, desktop, settings, mode):
    """Under WSGI Django sends an async stream only once it ended, holding
    a worker meanwhile: no stream there, even to a browser that asks for
    one by hand, whatever AUTH_QR_CODE_PUSH says."""
    settings.AUTH_QR_CODE_PUSH = mode
    auth_code = open_qr_page(desktop)
    assert desktop.get(reverse("qrauth_events", args=[auth_code])).status_code == 404


@pytest.mark.parametrize(
    ("mode", "asgi", "events"),
    [("auto", True, True), ("auto", False, False), ("on", False, True), ("off", True, False)],
)
async def test_which_pages_listen(qr_redis, desktop, settings, mode, asgi, events):
    # Django 4.2 does not notice a browser that left a stream: "auto" polls there.
    events = events and (mode != "auto" or django.VERSION >= (5, 0))
    settings.AUTH_QR_CODE_PUSH = mode
    client = async_twin(desktop) if asgi else desktop
    get = client.get if asgi else (lambda url: in_thread(client.get, url))
    page = await get(reverse("qr_code_page"))
    assert (b'data-qrauth-events="/qr/events/' in page.content) is events


async def test_redis_down_at_the_start_is_a_503(qr_redis, desktop, monkeypatch):
    auth_code = await in_thread(open_qr_page, desktop)
    store._breaker._failed(ConnectionError("down"))  # the breaker is open
    response = await open_stream(desktop, auth_code)
    assert response.status_code == 503
    assert json.loads(response.content)["hint"] == "unavailable"
    assert int(response["Retry-After"]) >= 1


async def test_a_stream_queries_no_database_after_it_starts(
    qr_redis, computer_and_bob, clock, fast_ticks, monkeypatch
):
    computer, bob = computer_and_bob
    auth_code = await in_thread(open_signin, computer)
    stream = await stream_of(computer, auth_code)
    first = await stream.status()
    queries = []  # every query, from any thread: the stream reads in threads of its own
    execute = CursorWrapper.execute
    monkeypatch.setattr(
        CursorWrapper,
        "execute",
        lambda self, sql, *a, **k: queries.append(sql) or execute(self, sql, *a, **k),
    )
    clock.now += 1
    assert (await stream.status())["frame"] != first["frame"]
    assert queries == []
    await in_thread(bob.get, frame_path(first), follow=True)  # the phone's own queries
    phone_queries = len(queries)
    assert (await stream.status())["hint"] == "scanned"
    assert len(queries) == phone_queries


# -- one subscriber ------------------------------------------------------------------


async def test_one_subscriber_connection_for_every_screen(real_redis, desktop, db):
    browsers = [Client() for _ in range(5)]
    codes = [await in_thread(open_signin, browser) for browser in browsers]
    streams = [
        await stream_of(browser, code) for browser, code in zip(browsers, codes, strict=True)
    ]
    for stream in streams:
        await stream.status()
    await in_thread(store.subscriber.subscribed.wait, DEADLINE)
    listeners = [c for c in real_redis.client_list() if int(c.get("sub", 0)) > 0]
    assert len(listeners) == 1
    assert store.subscriber.watched == 5


async def test_a_change_while_the_subscriber_was_away_is_read_on_its_return(
    real_redis, computer_and_bob, listening, monkeypatch
):
    """The one connection drops (a Redis restart, a network blip); the phone
    scans before it is back, so nobody hears the announcement. Once the
    subscriber is back, every screen reads its order again."""
    from qrauth.store import events

    monkeypatch.setattr(events, "_BACKOFF_FIRST", 60.0)  # back only when renewed below
    computer, bob = computer_and_bob
    auth_code = await in_thread(open_signin, computer)
    stream = await stream_of(computer, auth_code)
    first = await stream.status()
    subscriptions = store.subscriber.subscriptions
    real_redis.client_kill_filter(_type="pubsub")
    await in_thread(wait_until, lambda: not store.subscriber.subscribed.is_set())
    await in_thread(bob.get, frame_path(first), follow=True)  # announced to no one
    store.subscriber.renew()
    assert (await stream.status())["hint"] == "scanned"
    assert store.subscriber.subscriptions == subscriptions + 1


def wait_until(condition, deadline: float = DEADLINE) -> None:
    import time

    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "not in time"
        time.sleep(0.01)  # another thread's progress, not our clock


async def test_a_site_with_atomic_requests_streams_too(qr_redis, desktop, monkeypatch):
    """ATOMIC_REQUESTS cannot wrap an async view (Django refuses): the
    stream views opt out, as they write nothing to the database."""
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    auth_code = await in_thread(open_qr_page, desktop)
    stream = await stream_of(desktop, auth_code)
    assert (await stream.status())["state"] == "pending"


async def test_a_timer_that_fires_a_little_early_still_ticks(qr_redis, monkeypatch):
    """uvloop rounds a timer to whole milliseconds, so a wait may end just
    before the frame is due: that is a frame, never a heartbeat, and no
    frame is skipped."""
    from qrauth.flows import codes
    from qrauth.model import Flow, State
    from qrauth.store import events

    monkeypatch.setattr(push, "PERIOD", 0.02)
    wait = events.Waiter.wait

    async def early(self, timeout):
        return await wait(self, max(timeout - 0.001, 0))

    monkeypatch.setattr(events.Waiter, "wait", early)
    frames = iter(range(1, 1000))
    first = codes.CodeStatus(Flow.APPROVE, State.PENDING, expires_in=60, frame="frame-0")
    watch = push.Watch(
        order_id="an-order",
        read=lambda: first,
        lasts=lambda status: status.expires_in,
        tick=lambda status: replace(status, frame=f"frame-{next(frames)}"),
    )
    shown = []
    async with aclosing(push.follow(watch)) as snapshots:
        async for snapshot in snapshots:
            shown.append(snapshot)
            if len(shown) == 10:
                break
    assert None not in shown  # no heartbeat
    assert [status.frame for status in shown] == [f"frame-{n}" for n in range(10)]


async def test_streams_count_per_session_not_per_order(qr_redis, computer_and_bob, monkeypatch):
    """One browser session's streams are counted together, whatever order
    each follows: a new code does not start a fresh count."""
    counted = []
    monkeypatch.setattr(store, "open_stream", lambda stream, limits, *times: counted.append(limits))
    computer, _ = computer_and_bob
    for _ in range(2):
        await stream_of(computer, await in_thread(open_signin, computer))
    (session_a, network_a), (session_b, network_b) = counted
    assert session_a == session_b and network_a == network_b


async def test_a_silently_dropped_subscriber_connection_is_made_again(
    real_redis, computer_and_bob, listening, monkeypatch
):
    """A NAT or a load balancer may drop the idle connection without a word:
    silent for PING_EVERY, the subscriber asks; unanswered within
    PONG_WITHIN, it connects again, and every screen reads its order."""
    from redis.client import PubSub

    from qrauth.store import events

    monkeypatch.setattr(events, "PING_EVERY", 0.2)
    monkeypatch.setattr(events, "PONG_WITHIN", 0.3)
    subscriptions = store.subscriber.subscriptions
    await asyncio.sleep(1.0)  # real pings, answered: no new connection
    assert store.subscriber.subscriptions == subscriptions
    monkeypatch.setattr(PubSub, "ping", lambda self, message=None: None)  # the PING is lost
    await in_thread(wait_until, lambda: store.subscriber.subscriptions > subscriptions)
