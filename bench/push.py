"""Push against polling: the waiting screen's event stream beside the
status poll it replaces (row 7 of ``make bench``; alone:
``.venv/bin/python bench/push.py [--quick]``).

Set-up as the other rows: the bench site (bench/benchsite: the usual
middleware, database sessions on a file SQLite), a real redis-server on
CPU 1, qrauth's settings and rate limits at their defaults. The event
streams need an ASGI server: one uvicorn process (uvloop, httptools) on
CPU 0 serving bench/benchsite/asgi.py; every client on CPU 1. Loopback
has room for many client addresses (127.0.0.0/8): each desktop and each
group of waiting screens connects from its own, so that qrauth's limits
per network (AUTH_QR_CODE_APPROVE_ORDERS_PER_IP, _STREAMS_PER_IP) stay
at their defaults, as for screens of many people.

From this row on the bench's SQLite is in WAL mode (_write_ahead_log says why).

1. Sign-ins, pushed and polled, in turn on the same server at the same
   time (SIGN_IN_WORKERS at once, each alternating): a browser that is not
   signed in opens the sign-in page (approve flow), a signed-in phone
   opens the code's frame, the page shows the number, the phone types it
   (TYPING_SECONDS) and approves. The desktop either reads the page's
   event stream (push) or polls the status once a second after each
   answer, as page.js does without a stream (polling). Latency: from just
   before the phone sends its approving POST until the desktop has the
   status that says "approved"; then the desktop collects (Continue as?)
   and signs in. The desktop's requests are counted: the page, the stream
   or the polls, and the collect POST.
2. Waiting screens on one server process: ``streams`` approve orders, each
   owned by its own database session (made in bulk, with the store's own
   ISSUE script), each screen a raw asyncio client (in CLIENT_PROCESSES
   processes on CPU 1) reading its stream, opened OPENING_AT_ONCE at a
   time per process for at most ``open_seconds`` (a server that cannot
   take them all is measured with those it took). Once open: the server's
   resident memory against before (per stream), its database files open,
   Redis's subscriber connections; then for ``steady_seconds`` how late
   each new frame comes after the one before it (lateness: the interval
   less the 1 s a screen's frames are apart), the heartbeats heard, and
   the server's CPU time per frame and per screen and second. The same,
   first, for the bench site's bare event stream (benchsite/views.py:
   the middleware, the session read, an event as large a second): the
   floor of any event stream in this site on this machine.
3. Reconnects: the server is stopped (SIGKILL: every stream drops at
   once, as in a crash or a deploy that does not wait) and a new one
   started on the same port; each screen reconnects after the ``retry:``
   wait its stream last sent (1 to 5 s, jittered by the server), sending
   Last-Event-ID as EventSource does, and again after the same wait while
   the server is not up. Measured: when each screen has its first event
   again, from the kill (for at most RECONNECT_DEADLINE).
4. The baseline of parts 2 and 3: the same screens polled (their
   /qr/status/, round-robin, wrk with 32 connections) from gunicorn, 2 sync
   workers on CPU 0, as row 1: CPU seconds per poll, the cost of one
   polling screen a second.

Every process this starts is stopped on the way out, whatever happened
(the servers also die with this process: PR_SET_PDEATHSIG).
Writes the latency chart to bench/push-latency.png (and docs/charts/).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import load
import orders
import servers

SERVER_CPUS = "0"  # uvicorn, gunicorn
CLIENT_CPUS = "1"  # every client, redis-server
CLIENT_CPU_SET = {1}


@dataclass(frozen=True)
class Sizes:
    """How much each part measures: the full row, or ``--quick``'s."""

    sign_ins: int  # per way (push, polling)
    streams: int
    steady_seconds: float
    poll_seconds: int
    open_seconds: float  # the most the server is given to open every stream
    bare_streams: int  # the bare event stream's, for its cost per frame
    bare_seconds: float


FULL = Sizes(
    sign_ins=200,
    streams=10_000,
    steady_seconds=20,
    poll_seconds=8,
    open_seconds=90,
    bare_streams=1_000,
    bare_seconds=10,
)
QUICK = Sizes(
    sign_ins=30,
    streams=1_000,
    steady_seconds=8,
    poll_seconds=4,
    open_seconds=30,
    bare_streams=500,
    bare_seconds=5,
)

SIGN_IN_WORKERS = 16  # sign-ins at once, each worker alternating push and polling
TYPING_SECONDS = (0.5, 1.5)  # from the number on the screen to the approving POST
SIGN_IN_TIMEOUT = 20.0  # seconds for one sign-in
POLL_PERIOD = 1.0  # page.js: the next poll a second after the last answer
CLIENT_PROCESSES = 2
OPENING_AT_ONCE = 48  # per client process: streams being opened at a time
SCREENS_PER_ADDRESS = 50  # AUTH_QR_CODE_STREAMS_PER_IP is 200: room for a crash's leftovers
STREAM_PATH, BARE_PATH = "/qr/events/{}/", "/bare-events/{}/"
IN_FLIGHT_SECONDS = 10.0  # after the time to open: for the streams on their way
RECONNECT_TARGET = 30.0  # seconds
RECONNECT_DEADLINE = 60.0  # seconds: how long to wait for the last screen
SETTLE_SECONDS = 2.0  # after the last stream opened, before reading memory
POLL_WARM_UP = 2  # seconds of wrk before the measured run
RETRY_DEFAULT_MS = 3000  # EventSource's wait before the server said one
DESKTOP_UA = orders.DESKTOP_UA
PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36"
CHART = servers.BENCH_DIR / "push-latency.png"
DOCS_CHART = servers.BENCH_DIR.parent / "docs" / "charts" / "push-latency.png"


def _address(block: int, n: int) -> str:
    """The n-th loopback address of ``block`` (127.<block>.x.y), never .0 or .255."""
    return f"127.{block}.{1 + n // 250}.{1 + n % 250}"


DESKTOPS, PHONES, SCREENS = 10, 20, 30  # address blocks


# -- results -----------------------------------------------------------------------


@dataclass
class SignIns:
    """Part 1, for one way (push or polling)."""

    latencies: list[float] = field(default_factory=list)  # seconds, approve POST -> screen knows
    requests: list[int] = field(default_factory=list)  # the waiting page's, per sign-in
    waited: list[float] = field(default_factory=list)  # seconds from the page to "approved"
    posts: list[float] = field(default_factory=list)  # seconds the approving POST took


@dataclass
class Capacity:
    """Parts 2 and 3."""

    wanted: int = 0  # streams asked for
    streams: int = 0  # streams open
    open_refused: dict[str, int] = field(default_factory=dict)
    open_seconds: float = 0.0
    open_cpu_seconds: float = 0.0
    rss_before_kb: int = 0
    rss_after_kb: int = 0
    threads_before: int = 0
    threads_after: int = 0
    database_files: int = -1  # the server's open fds to the SQLite files, streams open
    subscribers: int = -1  # Redis connections with a subscription
    steady_seconds: float = 0.0
    steady_cpu_seconds: float = 0.0
    lateness: list[float] = field(default_factory=list)  # seconds, one per new frame
    repeated_frames: int = 0  # events whose frame was the one before
    pings: int = 0
    reconnected: list[float] = field(default_factory=list)  # seconds from the kill
    refused: dict[str, int] = field(default_factory=dict)  # non-200 answers on reconnecting
    not_back: int = 0
    subscribers_after: int = -1
    database_files_after: int = -1  # -1: not counted (screens still reconnecting)
    stale_stream_counts: int = 0  # streams the killed server left counted in Redis

    @property
    def cpu_per_frame(self) -> float:
        return self.steady_cpu_seconds / max(len(self.lateness), 1)

    @property
    def kb_per_screen(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / max(self.streams, 1)

    @property
    def cpu_per_screen_second(self) -> float:
        return self.steady_cpu_seconds / max(self.streams * self.steady_seconds, 1e-9)


@dataclass
class Polled:
    """Part 4: the same screens polled from gunicorn."""

    requests_per_second: float = 0.0
    cpu_seconds: float = 0.0
    requests: int = 0

    @property
    def cpu_per_poll(self) -> float:
        return self.cpu_seconds / max(self.requests, 1)


@dataclass
class PushResults:
    sizes: Sizes = FULL
    push: SignIns = field(default_factory=SignIns)
    polling: SignIns = field(default_factory=SignIns)
    capacity: Capacity = field(default_factory=Capacity)
    bare: Capacity = field(default_factory=Capacity)  # the bench site's bare event stream
    polled: Polled = field(default_factory=Polled)
    seconds: float = 0.0
    sign_in_workers: int = SIGN_IN_WORKERS
    client_processes: int = CLIENT_PROCESSES
    opening_at_once: int = OPENING_AT_ONCE


# -- the server's process, from /proc ------------------------------------------------


def _status_field(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {name}")


def rss_kb(pid: int) -> int:
    return _status_field(pid, "VmRSS")


def threads(pid: int) -> int:
    return _status_field(pid, "Threads")


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of ``pids``, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        # The command name, in parentheses, may hold spaces: count from after it.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def database_files(pid: int, database: Path) -> int:
    """How many files of the SQLite database (its file, journal, WAL) ``pid`` holds open."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        count += target.startswith(str(database))
    return count


def subscribers(redis_url: str) -> int:
    """Connections of the Redis at ``redis_url`` that hold a subscription."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return sum(1 for entry in client.client_list() if int(entry["sub"]) or int(entry["psub"]))
    finally:
        client.close()


# -- part 1: sign-ins, pushed and polled ---------------------------------------------


class SignInFailed(Exception):
    """A step did not answer as a working sign-in would."""


def _attribute(html: str, pattern: str, what: str) -> str:
    match = re.search(pattern, html)
    if match is None:
        raise SignInFailed(f"no {what} in the page")
    return match.group(1).replace("&amp;", "&")


def _csrf(html: str) -> str:
    return _attribute(html, r'name="csrfmiddlewaretoken" value="([^"]+)"', "CSRF token")


async def _watch_push(desktop: Any, path: str, heard: asyncio.Queue, counted: list[int]) -> None:
    """Read the page's event stream, as EventSource does: each status, when it came."""
    headers = {"Accept": "text/event-stream"}
    async with desktop.stream("GET", path, headers=headers) as response:
        counted[0] += 1
        if response.status_code != 200:
            raise SignInFailed(f"the event stream answered {response.status_code}")
        kind, data = "message", None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif not line and data is not None:
                if kind == "message":
                    status = json.loads(data)
                    heard.put_nowait((time.perf_counter(), status))
                    if status["state"] != "pending":
                        return
                kind, data = "message", None


async def _watch_polling(desktop: Any, path: str, heard: asyncio.Queue, counted: list[int]) -> None:
    """Poll the status as page.js does without a stream: at once, then a
    second after each answer."""
    while True:
        response = await desktop.get(path, headers={"Accept": "application/json"})
        counted[0] += 1
        if response.status_code != 200:
            raise SignInFailed(f"the status poll answered {response.status_code}")
        status = response.json()
        heard.put_nowait((time.perf_counter(), status))
        if status["state"] != "pending":
            return
        await asyncio.sleep(POLL_PERIOD)


async def _heard(heard: asyncio.Queue, wanted: Any, what: str) -> tuple[float, dict]:
    """The first status that is ``wanted``, and when it came."""
    while True:
        at, status = await heard.get()
        if wanted(status):
            return at, status
        if status["state"] != "pending":
            raise SignInFailed(f"waiting for {what}, the page heard {status.get('hint')}")


async def sign_in(base_url: str, push: bool, desktop_address: str, phone: Any) -> SignIns:
    """One sign-in of the approve flow; what it measured, as a SignIns of one."""
    import httpx

    transport = httpx.AsyncHTTPTransport(local_address=desktop_address)
    headers = {"User-Agent": DESKTOP_UA}
    async with httpx.AsyncClient(
        base_url=base_url, transport=transport, headers=headers
    ) as desktop:
        started = time.perf_counter()
        page = await desktop.get("/qr/signin/")
        counted = [1]
        if page.status_code != 200:
            raise SignInFailed(f"the sign-in page answered {page.status_code}")
        html = page.text
        events = _attribute(html, r'data-qrauth-events="([^"]+)"', "event stream (not ASGI?)")
        status = _attribute(html, r'data-qrauth-status="([^"]+)"', "status URL")
        collect = _attribute(html, r'<form method="post" action="([^"]+)" data-qrauth-collect', "")
        heard: asyncio.Queue = asyncio.Queue()
        watch = _watch_push(desktop, events, heard, counted) if push else None
        watch = watch or _watch_polling(desktop, status, heard, counted)
        watcher = asyncio.create_task(watch)
        try:
            measured = await _approve(phone, heard)
            await watcher  # it stops at the final status
        finally:
            watcher.cancel()
        latency, post, approved_at = measured
        collected = await desktop.post(collect, data={"csrfmiddlewaretoken": _csrf(html)})
        counted[0] += 1
        if 'name="confirm" value="account"' not in collected.text:
            raise SignInFailed(f"collect answered {collected.status_code} without Continue as")
        fields = {"csrfmiddlewaretoken": _csrf(collected.text), "confirm": "account"}
        signed_in = await desktop.post(collect, data=fields)
        if signed_in.status_code != 302 or "sessionid" not in desktop.cookies:
            raise SignInFailed(f"Continue as answered {signed_in.status_code}, not signed in")
    return SignIns([latency], [counted[0]], [approved_at - started], [post])


async def _approve(phone: Any, heard: asyncio.Queue) -> tuple[float, float, float]:
    """The phone's side: open the frame the page shows, type the number the
    page then shows, approve. (Latency, the POST's seconds, when the page
    heard "approved")."""
    _, shown = await _heard(heard, lambda status: status.get("frame"), "a frame")
    question = await phone.get(shown["frame"], follow_redirects=True)
    if question.status_code != 200 or 'value="approve"' not in question.text:
        raise SignInFailed(f"the phone's question answered {question.status_code}")
    _, numbered = await _heard(heard, lambda status: status.get("number"), "the number")
    # The person reads the number and types it: the approval falls anywhere
    # in a poll's second, not just after the poll that showed the number.
    await asyncio.sleep(random.uniform(*TYPING_SECONDS))
    fields = {"csrfmiddlewaretoken": _csrf(question.text), "action": "approve"}
    fields["number"] = numbered["number"]
    posted = time.perf_counter()
    answer = await phone.post(str(question.url), data=fields)
    answered = time.perf_counter()
    if answer.status_code != 200 or "Approved" not in answer.text:
        raise SignInFailed(f"the approving POST answered {answer.status_code}")
    at, _ = await _heard(heard, lambda status: status.get("hint") == "approved", "approved")
    return at - posted, answered - posted, at


def _phone_cookies(count: int) -> list[str]:
    """Session keys of ``count`` signed-in phones, each its own user."""
    users = [orders.new_user(f"push-phone-{n}-{time.monotonic_ns()}") for n in range(count)]
    return [
        orders.browser(PHONE_UA, "127.0.0.1", user).cookies["sessionid"].value for user in users
    ]


async def _sign_ins(base_url: str, count: int, phones: list[str]) -> dict[bool, SignIns]:
    import httpx

    results = {True: SignIns(), False: SignIns()}
    started = {True: 0, False: 0}
    failures: list[str] = []

    async def worker(n: int) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=_address(PHONES, n))
        cookies = {"sessionid": phones[n]}
        headers = {"User-Agent": PHONE_UA}
        async with httpx.AsyncClient(
            transport=transport, cookies=cookies, headers=headers, timeout=10
        ) as phone:
            push = n % 2 == 0
            while started[push] < count or started[not push] < count:
                if started[push] >= count:
                    push = not push
                index = started[True] + started[False]
                started[push] += 1
                try:
                    one = await asyncio.wait_for(
                        sign_in(base_url, push, _address(DESKTOPS, index), phone),
                        SIGN_IN_TIMEOUT,
                    )
                except (SignInFailed, httpx.HTTPError, TimeoutError) as exc:
                    failures.append(f"{'push' if push else 'polling'}: {type(exc).__name__} {exc}")
                    if len(failures) > 3:
                        raise SignInFailed("; ".join(failures)) from exc
                else:
                    for name in ("latencies", "requests", "waited", "posts"):
                        getattr(results[push], name).extend(getattr(one, name))
                push = not push

    await asyncio.gather(*(worker(n) for n in range(SIGN_IN_WORKERS)))
    if failures:
        print(f"  {len(failures)} sign-ins failed: {'; '.join(failures)}")
    return results


def measure_sign_ins(base_url: str, count: int) -> tuple[SignIns, SignIns]:
    """Part 1: (push, polling)."""
    phones = _phone_cookies(SIGN_IN_WORKERS)
    results = asyncio.run(_sign_ins(base_url, count, phones))
    for push, name in ((True, "push"), (False, "polling")):
        got = results[push]
        print(
            f"  {name:7} {len(got.latencies)} sign-ins: approve -> screen "
            f"p50 {_ms(_percentile(got.latencies, 50))} ms, "
            f"p95 {_ms(_percentile(got.latencies, 95))} ms (the approving POST itself "
            f"p50 {_ms(_percentile(got.posts, 50))} ms, p95 {_ms(_percentile(got.posts, 95))} ms); "
            f"{statistics.mean(got.requests):.1f} requests from the page",
            flush=True,
        )
    return results[True], results[False]


def _percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile (no interpolation: a value that was measured)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)) - 1, 0)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f}"


# -- part 2: many waiting screens ----------------------------------------------------


@dataclass(frozen=True)
class Screen:
    """One waiting screen: where it connects from, its cookies, its order."""

    address: str
    cookie: str
    auth_code: str


def make_screens(count: int) -> list[Screen]:
    """``count`` sign-in pages as if each browser had opened /qr/signin/: a
    database session holding qrauth's secret, the codes cookie naming its
    order, signed for that secret, and a pending approve order bound to
    it, stored by qrauth's own ISSUE script (a pipeline per batch)."""
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone

    from qrauth import clock, issuers, tokens
    from qrauth.devices import describe_user_agent
    from qrauth.model import Flow, State
    from qrauth.store import default, order_key, scripts

    expires = timezone.now() + timezone.timedelta(days=1)
    requester = describe_user_agent(DESKTOP_UA)
    screens, sessions, calls = [], [], []
    for n in range(count):
        secret, order_id = tokens.new_secret(), tokens.new_secret()
        key = secrets.token_hex(16)  # 32 characters, as Django's
        session, codes, binding = _owned(secret, order_id)
        sessions.append(Session(session_key=key, session_data=session, expire_date=expires))
        address = _address(SCREENS, n // SCREENS_PER_ADDRESS)
        screens.append(Screen(address, f"sessionid={key}; {issuers.COOKIE}={codes}", order_id))
        fields = {"f": Flow.APPROVE, "s": State.PENDING, "b": binding, "t": clock.now()}
        fields |= {"r": requester, "i": address, "n": "1"}
        argv = scripts.ISSUE.argv({"lifetime": _lifetime(), "fields": fields})
        calls.append((scripts.ISSUE, order_key(order_id), argv))
    with transaction.atomic():
        Session.objects.bulk_create(sessions, batch_size=1000)
    for start in range(0, len(calls), 1000):
        issued = default.run_all(calls[start : start + 1000])
        if any(result != 1 for result in issued):
            raise RuntimeError("make_screens: an order was not issued")
    return screens


def _write_ahead_log() -> None:
    """SQLite in WAL mode from here on (it stays so: this row runs last).

    With the default rollback journal, each commit (a sign-in's new
    session) blocks every reader for its fsyncs, and with sign-ins at once
    the phone's approving POST waited on SQLite's busy handler: on this
    2-CPU box its p95 went from 28 ms to 380 ms, which would be measured as
    push latency. A production database lets readers read meanwhile."""
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
    connections.close_all()


def _owned(secret: str, order_id: str) -> tuple[str, str, str]:
    """What binds ``order_id`` to a browser whose session holds ``secret``,
    as qrauth.issuers makes it (the one place the bench asks how): the
    session's data, the codes cookie's value, the order's binding digest."""
    from django.contrib.sessions.backends.db import SessionStore

    from qrauth import issuers
    from qrauth.model import Flow

    session = SessionStore().encode({issuers._SECRET_KEY: secret})
    codes = issuers._signer(secret).sign(f"{Flow.APPROVE.value}={order_id}")
    return session, codes, issuers._digest(secret, order_id)


def _lifetime() -> int:
    from qrauth.conf import settings

    return settings.EXPIRATION_TIME


# -- the screens' clients: raw asyncio, in processes of their own on CPU 1 -------------
#
# A browser's EventSource, as little as it takes: one HTTP/1.1 GET, then
# the chunked body cut into events at each blank line. No HTTP library: ten
# thousand of them must cost the client CPU less than the server's.

_RETRY = re.compile(rb"retry: (\d+)")
_ID = re.compile(rb"(?:^|\n)id: ([^\n]*)")
_FRAME = b'"frame":"'


class _Stream(asyncio.Protocol):
    """One screen's event stream, reconnecting as EventSource does."""

    def __init__(self, crowd: _Crowd, screen: Screen) -> None:
        self.crowd, self.screen = crowd, screen
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.started = False  # the answer's head was read
        self.live = False  # an event came on this connection
        self.done = False  # refused or closed for good
        self.retry = RETRY_DEFAULT_MS / 1000
        self.last_id = b""
        self.frame = b""
        self.frame_at = 0.0
        self.back_after: float | None = None  # seconds from the kill to the first event again
        self.was_open = False  # opened before the kill

    def connect(self) -> None:
        asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(
                lambda: self, self.crowd.host, self.crowd.port, local_addr=(self.screen.address, 0)
            )
        except OSError:  # the server is not up (yet): try again after the wait
            loop.call_later(self.retry, self.connect)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer, self.started, self.live = b"", False, False
        last = b"Last-Event-ID: " + self.last_id + b"\r\n" if self.last_id else b""
        self.transport.write(self.crowd.request(self.screen) + last + b"\r\n")

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer + data
        if not self.started:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if buffer[9:12] != b"200":
                self.crowd.refused(self, buffer[9:12].decode())
                return
            self.started, buffer = True, buffer[end + 4 :]
        *events, self.buffer = buffer.split(b"\n\n")
        for event in events:
            self.crowd.heard(self, event, now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport, self.frame_at = None, 0.0
        if not self.done:
            asyncio.get_running_loop().call_later(self.retry, self.connect)
        self.crowd.lost(self)

    def close(self) -> None:
        self.done = True
        if self.transport is not None:
            self.transport.close()


class _Crowd:
    """The screens of one client process, and what they heard."""

    def __init__(self, screens: list[Screen], base_url: str, path: str) -> None:
        host, port = base_url.removeprefix("http://").rsplit(":", 1)
        self.host, self.port, self.path = host, int(port), path
        self.streams = [_Stream(self, screen) for screen in screens]
        self.opening = asyncio.Semaphore(OPENING_AT_ONCE)
        self.opened = 0
        self.tried = 0
        self.failed: dict[str, int] = {}
        self.recording = False
        self.lateness = array("d")
        self.repeated = 0
        self.pings = 0
        self.killed_at: float | None = None
        self._settling = asyncio.Event()

    def request(self, screen: Screen) -> bytes:
        return (
            f"GET {self.path.format(screen.auth_code)} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\nUser-Agent: {DESKTOP_UA}\r\n"
            f"Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
            f"Cookie: {screen.cookie}\r\n"
        ).encode()

    async def open_all(self, seconds: float) -> None:
        """Open the streams, OPENING_AT_ONCE at a time, for at most
        ``seconds``; then wait a little for those on their way, and give up
        on the rest (a server that cannot take more)."""
        deadline = time.monotonic() + seconds
        for stream in self.streams:
            try:
                await asyncio.wait_for(self.opening.acquire(), deadline - time.monotonic())
            except (TimeoutError, ValueError):
                break
            self.tried += 1
            stream.connect()
        self._settled()
        try:
            await asyncio.wait_for(self._settling.wait(), IN_FLIGHT_SECONDS)
        except TimeoutError:
            pass
        for stream in self.streams:
            if not stream.live:
                stream.close()

    def _settled(self) -> None:
        """One more stream has its first event, or was refused."""
        if self.killed_at is None:
            self.opening.release()
            if self.opened + sum(self.failed.values()) >= self.tried:
                self._settling.set()

    def heard(self, stream: _Stream, event: bytes, now: float) -> None:
        if b"data: " not in event:
            retry = _RETRY.search(event)
            if retry:
                stream.retry = int(retry.group(1)) / 1000
            return
        if b"event: " in event:  # ping (a heartbeat), or gone
            if b"event: ping" in event:
                self.pings += 1
            else:
                self.refused(stream, "gone")
            return
        found = _ID.search(event)
        if found:
            stream.last_id = found.group(1)
        start = event.find(_FRAME) + len(_FRAME)
        frame = event[start : event.find(b'"', start)] if start >= len(_FRAME) else b""
        if not stream.live:
            stream.live = True
            if self.killed_at is None:
                stream.was_open = True
                self.opened += 1
                self._settled()
            elif stream.back_after is None:
                stream.back_after = now - self.killed_at
        elif frame == stream.frame:
            self.repeated += 1
        elif self.recording and stream.frame_at:
            self.lateness.append(now - stream.frame_at - 1.0)
        if frame != stream.frame:
            stream.frame, stream.frame_at = frame, now

    def refused(self, stream: _Stream, why: str) -> None:
        self.failed[why] = self.failed.get(why, 0) + 1
        live = stream.live
        stream.close()
        if not live:
            self._settled()

    def lost(self, stream: _Stream) -> None:
        if not stream.started and not stream.done and self.killed_at is None:
            self.refused(stream, "dropped before answering")

    def back(self) -> tuple[list[float], int]:
        """(Seconds from the kill to each screen's first event again; screens
        that were open and are not back)."""
        was_open = [stream for stream in self.streams if stream.was_open]
        back = [stream.back_after for stream in was_open if stream.back_after is not None]
        return back, sum(1 for s in was_open if s.back_after is None and not s.done)


async def _serve_commands(connection: Any, crowd: _Crowd) -> None:
    """Do what the bench asks, one command at a time, until "close"."""
    loop = asyncio.get_running_loop()
    while True:
        command, *args = await loop.run_in_executor(None, connection.recv)
        if command == "open":
            started = time.monotonic()
            await crowd.open_all(args[0])
            connection.send((crowd.opened, dict(crowd.failed), time.monotonic() - started))
        elif command == "record":
            crowd.recording = True
            connection.send(None)
        elif command == "stop":
            crowd.recording = False
            connection.send((crowd.lateness.tobytes(), crowd.repeated, crowd.pings))
        elif command == "dropping":
            crowd.killed_at = args[0]
            crowd.failed.clear()
            connection.send(None)
        elif command == "back":
            back, waiting = crowd.back()
            connection.send((back if args and args[0] else len(back), waiting, dict(crowd.failed)))
        elif command == "close":
            for stream in crowd.streams:
                stream.close()
            await asyncio.sleep(0.5)
            connection.send(None)
            return


def _client_process(
    connection: Any, screens: list[Screen], base_url: str, path: str, parent: int
) -> None:
    import uvloop

    servers.die_with(parent)
    os.sched_setaffinity(0, CLIENT_CPU_SET)
    servers.raise_open_files()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bench stops it, with "close" or a kill

    async def run() -> None:
        await _serve_commands(connection, _Crowd(screens, base_url, path))

    uvloop.run(run())


class Clients:
    """CLIENT_PROCESSES processes, each with its share of the screens."""

    def __init__(self, screens: list[Screen], base_url: str, path: str = STREAM_PATH) -> None:
        context = multiprocessing.get_context("fork")
        self.connections, self.processes = [], []
        for n in range(CLIENT_PROCESSES):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_client_process,
                args=(theirs, screens[n::CLIENT_PROCESSES], base_url, path, os.getpid()),
                daemon=True,
            )
            process.start()
            self.connections.append(ours)
            self.processes.append(process)

    def ask(self, *command: Any, timeout: float = 60) -> list[Any]:
        for connection in self.connections:
            connection.send(command)
        answers = []
        for connection in self.connections:
            if not connection.poll(timeout):
                raise RuntimeError(f"a client process did not answer {command[0]!r} in {timeout} s")
            answers.append(connection.recv())
        return answers

    def close(self) -> None:
        try:
            self.ask("close", timeout=10)
        except (OSError, EOFError, RuntimeError):
            pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


# -- parts 2 and 3, on the server ----------------------------------------------------


def measure_streams(
    served: servers.Served, clients: Clients, count: int, sizes: Sizes, steady: float
) -> Capacity:
    """Part 2: open ``count`` streams (as many as the server takes in
    sizes.open_seconds), read the server, then measure for ``steady`` seconds."""
    pid = served.pid
    found = Capacity(wanted=count, steady_seconds=steady)
    found.rss_before_kb, found.threads_before = rss_kb(pid), threads(pid)
    print(f"  opening {count:,} streams: ", end="", flush=True)
    cpu = cpu_seconds([pid])
    answers = clients.ask("open", sizes.open_seconds, timeout=sizes.open_seconds + 60)
    found.open_cpu_seconds = cpu_seconds([pid]) - cpu
    found.streams = sum(answer[0] for answer in answers)
    found.open_seconds = max(answer[2] for answer in answers)
    found.open_refused = _merged(answer[1] for answer in answers)
    print(
        f"{found.streams:,} open in {found.open_seconds:.0f} s "
        f"({found.open_cpu_seconds / max(found.streams, 1) * 1e3:.1f} ms of server CPU each); "
        f"refused: {_refusals(found.open_refused)}",
        flush=True,
    )
    time.sleep(SETTLE_SECONDS)
    found.rss_after_kb, found.threads_after = rss_kb(pid), threads(pid)
    clients.ask("record")
    cpu, started = cpu_seconds([pid]), time.monotonic()
    time.sleep(steady)
    found.steady_cpu_seconds = cpu_seconds([pid]) - cpu
    found.steady_seconds = time.monotonic() - started
    for lateness, repeated, pings in clients.ask("stop"):
        found.lateness += array("d", lateness).tolist()
        found.repeated_frames += repeated
        found.pings += pings
    print(
        f"  {steady:.0f} s steady: {len(found.lateness):,} frames, lateness "
        f"p50 {_ms(_percentile(found.lateness, 50))} ms, "
        f"p99 {_ms(_percentile(found.lateness, 99))} ms, "
        f"max {_ms(max(found.lateness, default=math.nan))} ms, "
        f"{sum(late >= 0.5 for late in found.lateness):,} at least 500 ms late; "
        f"{found.pings:,} heartbeats, {found.repeated_frames:,} repeated frames; "
        f"{100 * found.steady_cpu_seconds / found.steady_seconds:.0f} % of a CPU, "
        f"{found.cpu_per_frame * 1e6:.0f} µs per frame; "
        f"{found.kb_per_screen:.1f} KB per stream",
        flush=True,
    )
    return found


def _refusals(refused: dict[str, int]) -> str:
    return ", ".join(f"{count} {why}" for why, count in refused.items()) or "none"


def measure_bare(served: servers.Served, screens: list[Screen], sizes: Sizes) -> Capacity:
    """The floor: the bench site's bare event stream (benchsite/views.py),
    as many screens as sizes.bare_streams."""
    print("  the bare event stream (the floor of any in this site):", flush=True)
    clients = Clients(screens[: sizes.bare_streams], served.base_url, BARE_PATH)
    try:
        return measure_streams(served, clients, sizes.bare_streams, sizes, sizes.bare_seconds)
    finally:
        clients.close()


def check_server(found: Capacity, served: servers.Served, database: Path, redis_url: str) -> None:
    """What the server holds with the streams open: its database files, and
    Redis's subscriber connections."""
    found.database_files = database_files(served.pid, database)
    found.subscribers = subscribers(redis_url)
    print(
        f"  {found.threads_after} threads, {found.database_files} database files open, "
        f"{found.subscribers} Redis subscriber connection(s)",
        flush=True,
    )


def _merged(counts: Any) -> dict[str, int]:
    merged: dict[str, int] = {}
    for count in counts:
        for why, n in count.items():
            merged[why] = merged.get(why, 0) + n
    return merged


def measure_reconnects(
    clients: Clients, killed_at: float, served: servers.Served, found: Capacity, database: Path
) -> None:
    """Part 3, once the new server is up: wait until every screen has its
    first event again (or RECONNECT_DEADLINE passed)."""
    while True:
        answers = clients.ask("back", False)
        if (
            sum(answer[1] for answer in answers) == 0
            or time.monotonic() - killed_at > RECONNECT_DEADLINE
        ):
            break
        time.sleep(0.5)
    answers = clients.ask("back", True)
    found.reconnected = [seconds for answer in answers for seconds in answer[0]]
    found.not_back = sum(answer[1] for answer in answers)
    found.refused = _merged(answer[2] for answer in answers)
    time.sleep(SETTLE_SECONDS)
    found.subscribers_after = subscribers(os.environ["BENCH_REDIS_URL"])
    if found.not_back == 0:  # else streams still opening hold theirs for a moment
        found.database_files_after = database_files(served.pid, database)
    found.stale_stream_counts = _stream_entries() - 2 * len(found.reconnected)
    print(
        f"  reconnects: {len(found.reconnected):,} back, the last "
        f"{max(found.reconnected, default=math.nan):.1f} s after the kill (p50 "
        f"{_percentile(found.reconnected, 50):.1f} s); {found.not_back} not back; "
        f"refused {found.refused or 'none'}; {found.stale_stream_counts:,} streams of the "
        "killed server still counted in Redis",
        flush=True,
    )


def _stream_entries() -> int:
    """Open streams counted in Redis, over every session's and network's count."""
    from qrauth.conf import settings
    from qrauth.store import get_redis

    client = get_redis()
    keys = list(client.scan_iter(match=f"{settings.KEY_PREFIX}:streams:*", count=1000))
    pipeline = client.pipeline(transaction=False)
    for key in keys:
        pipeline.zcard(key)
    return sum(pipeline.execute())


# -- part 4: the same screens polled, from gunicorn ----------------------------------


def measure_polled(folder: Path, screens: list[Screen], seconds: int) -> Polled:
    """CPU seconds per status poll, gunicorn with 2 sync workers on CPU 0 as
    row 1, wrk round-robin over the screens' orders."""
    requests = folder / "push-polls.tsv"
    lines = (f"/qr/status/{s.auth_code}/\t{s.cookie}\n" for s in screens)
    requests.write_text("".join(lines))
    expected = '"frame": "http://'
    log = folder / "push-gunicorn.log"
    with servers.gunicorn(log, 2, SERVER_CPUS) as base_url:
        pids = _serving(base_url)
        load.run_wrk(base_url, requests, expected, POLL_WARM_UP, CLIENT_CPUS)
        cpu = cpu_seconds(pids)
        run = load.run_wrk(base_url, requests, expected, seconds, CLIENT_CPUS)
        spent = cpu_seconds(pids) - cpu
    polled = Polled(run.requests_per_second, spent, round(run.requests_per_second * seconds))
    print(
        f"  polled from gunicorn: {polled.requests_per_second:,.0f} polls/s, "
        f"{polled.cpu_per_poll * 1e6:.0f} µs of CPU per poll",
        flush=True,
    )
    return polled


def _serving(base_url: str) -> list[int]:
    """The processes whose command line binds ``base_url``'s address: a
    gunicorn's master and its workers."""
    bind = base_url.removeprefix("http://").encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"gunicorn" in command and bind in command:
                pids.append(int(entry.name))
    if not pids:
        raise RuntimeError(f"no gunicorn process found for {base_url}")
    return pids


# -- the whole row -------------------------------------------------------------------


def measure(folder: Path, sizes: Sizes = FULL) -> PushResults:
    """Row 7, in a site set up by orders.use_site and setup_django, with
    its Redis running. The bench's own process runs on CPU 1 meanwhile."""
    started = time.monotonic()
    results = PushResults(sizes=sizes)
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, CLIENT_CPU_SET)
    try:
        _measure(folder, sizes, results)
    finally:
        os.sched_setaffinity(0, affinity)
    results.seconds = time.monotonic() - started
    chart(results)
    return results


def _measure(folder: Path, sizes: Sizes, results: PushResults) -> None:
    database = Path(os.environ["BENCH_DATABASE"])
    redis_url = os.environ["BENCH_REDIS_URL"]
    print(f"row 7, push against polling: making {sizes.streams:,} waiting screens...", flush=True)
    screens = make_screens(sizes.streams)
    _write_ahead_log()
    log = folder / "uvicorn.log"
    clients: Clients | None = None
    try:
        with servers.uvicorn(log, SERVER_CPUS) as first:
            results.push, results.polling = measure_sign_ins(first.base_url, sizes.sign_ins)
            results.bare = measure_bare(first, screens, sizes)
            clients = Clients(screens, first.base_url)
            found = measure_streams(first, clients, sizes.streams, sizes, sizes.steady_seconds)
            results.capacity = found
            check_server(found, first, database, redis_url)
            killed_at = time.monotonic()
            clients.ask("dropping", killed_at)
            servers.kill(first)
        with servers.uvicorn(log, SERVER_CPUS, port=first.port) as second:
            up = time.monotonic() - killed_at
            print(f"  killed the server; a new one answered {up:.1f} s later", flush=True)
            measure_reconnects(clients, killed_at, second, found, database)
    finally:
        if clients is not None:
            clients.close()
    results.polled = measure_polled(folder, screens, sizes.poll_seconds)


# -- the chart -----------------------------------------------------------------------


def chart(results: PushResults) -> None:
    """The two latency distributions, push and polling, as CDFs: CHART, and,
    from a full run, a copy in the documentation (DOCS_CHART)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7.5, 4), dpi=100)
    for name, got, style in (
        ("push (event stream)", results.push, "-"),
        ("polling (once a second)", results.polling, "--"),
    ):
        values = sorted(seconds * 1e3 for seconds in got.latencies)
        if not values:
            continue
        shares = [(n + 1) / len(values) for n in range(len(values))]
        p95 = _percentile(got.latencies, 95) * 1e3
        axes.step(values, shares, style, where="post", label=f"{name}: p95 {p95:.0f} ms")
    axes.axvline(150, color="grey", linewidth=0.8, linestyle=":")
    axes.text(150, 0.03, " 150 ms", color="grey", fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel("phone approves → the waiting page knows, ms (log scale)")
    axes.set_ylabel("share of sign-ins")
    axes.set_ylim(0, 1.02)
    axes.grid(True, which="both", alpha=0.3)
    count = len(results.push.latencies)
    axes.set_title(f"Approve flow, {count} sign-ins each way, one uvicorn process", fontsize=10)
    axes.legend(loc="center right")
    figure.tight_layout()
    figure.savefig(CHART)
    pyplot.close(figure)
    if results.sizes == FULL:  # the documentation shows a full run's, never --quick's
        DOCS_CHART.parent.mkdir(exist_ok=True)
        shutil.copyfile(CHART, DOCS_CHART)


# -- alone ---------------------------------------------------------------------------


def main() -> None:
    # A SIGTERM (a timeout, a supervisor) runs the finally blocks too: no
    # server, client or redis-server outlives the bench.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer screens and sign-ins")
    sizes = QUICK if parser.parse_args().quick else FULL
    for tool in ("wrk", str(servers.GUNICORN), str(servers.UVICORN)):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: run `make bench`, which installs it")
    with tempfile.TemporaryDirectory(prefix="qrauth-push-") as name:
        folder = Path(name)
        with servers.redis_server(folder, CLIENT_CPUS) as redis_url:
            orders.use_site(folder, redis_url)
            orders.setup_django()
            results = measure(folder, sizes)
    import report

    print(report.push_table(results))


if __name__ == "__main__":
    sys.exit(main())
