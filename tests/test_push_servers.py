"""Push across real server processes: the test site under two uvicorn
processes sharing one redis-server and one database file, as behind a load
balancer. An approval made on one process reaches a screen streaming from
the other; a Redis restart mid-wait loses nothing; a stream holds neither
a database connection nor a thread of its server.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import django
import httpx
import pytest
import redis

from .distributed_servers import AsgiServer, signed_in_session, two_servers, wait_for
from .redis_servers import RedisServer

pytestmark = [pytest.mark.slow]

DEADLINE = 15.0  # seconds: a loaded machine


@dataclass
class Site:
    env: dict[str, str]
    database: Path
    redis_server: RedisServer
    a: AsgiServer
    b: AsgiServer

    def phone_of(self, username: str, server: AsgiServer) -> httpx.Client:
        phone = httpx.Client(base_url=server.base_url, timeout=DEADLINE)
        session = signed_in_session(self.env, username)
        phone.cookies.set("sessionid", session, domain="127.0.0.1")
        return phone


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    with two_servers(tmp_path_factory, AsgiServer) as (env, database, redis_server, servers):
        yield Site(env, database, redis_server, *servers)


class Events:
    """An open event stream, read line by line: each status as it comes."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        self._context = client.stream("GET", url, headers={"Accept": "text/event-stream"})
        self.response = self._context.__enter__()
        assert self.response.status_code == 200, self.response.read()
        self._lines = self.response.iter_lines()

    def status(self) -> dict:
        data = None
        for line in self._lines:
            if line.startswith("data: "):
                data = line[6:]
            elif line == "" and data is not None:
                payload = json.loads(data)
                if "state" in payload:  # not a heartbeat
                    return payload
                data = None
        raise AssertionError("the stream ended")

    def change(self, hint: str) -> dict:
        """The next status whose hint is not ``hint`` (frames come and go
        every second meanwhile)."""
        while (payload := self.status())["hint"] == hint:
            pass
        return payload

    def number(self) -> dict:
        """The next status with a number to type: the scan URL's GET notes
        the scan, the page it leads to notes who looks (two announcements)."""
        while not (payload := self.status())["number"]:
            pass
        return payload

    def ended(self) -> bool:
        return all(not line.startswith("data: ") for line in self._lines)

    def close(self) -> None:
        self._context.__exit__(None, None, None)


def signin_page(computer: httpx.Client) -> tuple[str, str, str]:
    """The approve page as ``computer`` opens it: its stream and collect
    URLs, and its CSRF token."""
    page = computer.get("/qr/signin/")
    assert page.status_code == 200
    events = re.search(r'data-qrauth-events="([^"]+)"', page.text)
    collect = re.search(r'action="(/qr/signin/collect/[^"]+/)"', page.text).group(1)
    if events is None:  # Django 4.2: "auto" polls, but the stream is there
        assert django.VERSION < (5, 0), "an ASGI server's page listens to a stream"
        return collect.replace("/signin/collect/", "/events/"), collect, csrf_of(page)
    return events.group(1), collect, csrf_of(page)


def csrf_of(page: httpx.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def approve_on(phone: httpx.Client, path: str, number: str) -> float:
    """The phone approves; when its POST was sent (time.monotonic)."""
    question = phone.get(path, follow_redirects=True)
    assert question.status_code == 200
    sent = time.monotonic()
    form = {"action": "approve", "number": number, "csrfmiddlewaretoken": csrf_of(question)}
    answer = phone.post(str(question.url), data=form, headers={"Referer": str(question.url)})
    assert "The other screen is signing in now" in answer.text
    return sent


def path_of(url: str) -> str:
    return httpx.URL(url).raw_path.decode()


def test_an_approval_on_one_process_reaches_a_screen_on_the_other(site):
    computer = httpx.Client(base_url=site.a.base_url, timeout=DEADLINE)
    events_url, collect_url, csrf = signin_page(computer)
    stream = Events(computer, events_url)
    try:
        first = stream.status()
        phone = site.phone_of("bob", site.b)
        phone.get(path_of(first["frame"]), follow_redirects=True)
        scanned = stream.number()
        assert scanned["hint"] == "scanned"
        sent = approve_on(phone, path_of(first["frame"]), scanned["number"])
        approved = stream.change("scanned")
        latency = time.monotonic() - sent
        assert approved["hint"] == "approved"
        assert latency < DEADLINE
        assert stream.ended()
    finally:
        stream.close()
    done = computer.post(
        collect_url,
        data={"confirm": "account", "csrfmiddlewaretoken": csrf},
        headers={"Referer": site.a.base_url + "/qr/signin/"},
        follow_redirects=True,
    )
    assert done.text == "home: bob"


def subscribers(server: RedisServer) -> int:
    with redis.Redis(port=server.port, socket_timeout=2) as client:
        return sum(1 for c in client.client_list() if int(c.get("sub", 0)) > 0)


def restart_keeping_data(server: RedisServer) -> None:
    """Stop Redis as a restart does (SHUTDOWN SAVE: its orders on disk) and
    start it again on the same port and folder."""
    with redis.Redis(port=server.port, socket_timeout=5) as client:
        try:
            client.shutdown(save=True)
        except redis.ConnectionError:
            pass  # it went away while answering
    server.process.wait(timeout=DEADLINE)
    server.start()


def test_a_redis_restart_mid_wait_loses_nothing(site):
    computer = httpx.Client(base_url=site.a.base_url, timeout=DEADLINE)
    events_url = signin_page(computer)[0]
    stream = Events(computer, events_url)
    try:
        first = stream.status()
        wait_for(lambda: subscribers(site.redis_server) >= 1, "process a listens")
        restart_keeping_data(site.redis_server)
        wait_for(lambda: subscribers(site.redis_server) >= 1, "process a listens again")
        phone = site.phone_of("bob", site.b)
        phone.get(path_of(first["frame"]), follow_redirects=True)
        assert stream.change("not_scanned")["hint"] == "scanned"
    finally:
        stream.close()


def open_fds(pid: int, path: Path) -> int:
    folder = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in folder.iterdir():
        try:
            if os.readlink(fd).startswith(str(path)):
                count += 1
        except OSError:
            pass  # closed meanwhile
    return count


def threads_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_open_streams_hold_no_database_connection_and_no_thread(site):
    server = site.a
    pid = server.process.pid
    computers = [httpx.Client(base_url=server.base_url, timeout=DEADLINE) for _ in range(8)]
    urls = [signin_page(computer)[0] for computer in computers]
    streams = []
    try:
        streams.append(Events(computers[0], urls[0]))
        streams[0].status()  # the server's own threads are up: the baseline
        threads = threads_of(pid)
        for computer, url in zip(computers[1:], urls[1:], strict=True):
            streams.append(Events(computer, url))
            streams[-1].status()
        assert open_fds(pid, site.database) == 0
        assert threads_of(pid) <= threads + 1  # not one per stream
    finally:
        for stream in streams:
            stream.close()
