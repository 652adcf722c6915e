"""Redis commands per request, on each endpoint of both flows, counted at the server.

MONITOR, on a connection of its own, shows every command Redis runs, in
the order it runs them: those a client sent (``[0 127.0.0.1:port]``) and
those a Lua script ran (``[0 lua]``). Each request is made once, in-process
with Django's test Client, between two unique ``ECHO`` markers sent on a
third connection; the MONITOR lines between a request's markers are its
own, and a line outside any pair means something else talks to Redis,
which fails the run. Round trips are counted in the client: each call of
redis-py's ``send_packed_command`` is one write the client then waits on,
and a pipeline (qrauth pipelines the rate-limit counters with the issue
script) is one.

The flows run as people use them, with fresh users, sessions and client
addresses so that every rate-limit counter starts new; the phone reads
the link from the picture (zxing-cpp), and a GET of a scan URL answers a
302 to a page without the token, the scan kept in a cookie: hand-off (a
signed-in desktop issues, fetches the picture; a phone GETs and HEADs the
scan URL, GETs the question it leads to; the desktop polls; the phone
confirms there; the desktop shows a new code and cancels it) and approve
(an anonymous desktop issues, fetches the picture; a signed-in phone GETs
the scan URL and the approve page it leads to, which notes the phone's
session; the desktop polls, which shows that session's number; the phone
approves; the desktop collects, which first names the account, "Continue
as ...?", and signs in on the second POST, with confirm=account). Every
order is polled once, so the minimum interval between polls
(AUTH_QR_CODE_STATUS_INTERVAL) never answers 429 and no setting is
overridden.

``count_commands`` needs DJANGO_SETTINGS_MODULE=benchsite.settings, the
BENCH_* variables, ``django.setup()``, a migrated database and
``django.test.utils.setup_test_environment()`` (responses must carry their
templates), all done by the caller, and a Redis nothing else uses. Run
alone: ``.venv/bin/python bench/commands.py``.
"""

from __future__ import annotations

import itertools
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import journey
import orders
import redis
import servers
from redis.connection import AbstractConnection

HANDOFF, APPROVE = "hand-off", "approve"
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
DESKTOP_UA = orders.DESKTOP_UA
MONITOR_TIMEOUT = 10  # seconds: a marker that never shows fails the run, not hangs it
_passes = itertools.count(1)  # each pass its own users and client addresses


@dataclass(frozen=True)
class Row:
    """One request: what it answered and what it cost Redis.

    ``client_commands``: commands clients sent (EVALSHA, HMGET...);
    ``script_commands``: commands the scripts ran; ``round_trips``: writes
    the client waited on (a pipeline is one); ``commands``: their names."""

    endpoint: str
    flow: str
    status_code: int
    client_commands: int
    script_commands: int
    round_trips: int | None
    commands: str = ""


@dataclass(frozen=True)
class Expect:
    """What a response must be for the flow to have gone as planned: a 200
    can also be a "stale code" page, a 302 a redirect to "invalid code"."""

    status: int
    template: str = ""  # a template it rendered
    location: str = ""  # where it redirects
    hint: str = ""  # a status poll's hint


@dataclass(frozen=True)
class Counts:
    client: Counter[str]
    scripts: Counter[str]
    round_trips: int

    def summary(self) -> str:
        """E.g. "EVALSHA×3 (lua: INCR×2, EXPIRE×3, TTL×2, HSET)"."""
        sent = _names(self.client) or "none"
        return f"{sent} (lua: {_names(self.scripts)})" if self.scripts else sent


def _names(counter: Counter[str]) -> str:
    return ", ".join(f"{name}×{n}" if n > 1 else name for name, n in counter.items())


# -- counting -------------------------------------------------------------------------


class Recorder:
    """MONITOR on one connection, markers from another; attributes every
    command Redis runs to the request made between two markers."""

    def __init__(self, url: str) -> None:
        self._monitor_client = redis.Redis.from_url(url, socket_timeout=MONITOR_TIMEOUT)
        self._marker = redis.Redis.from_url(url, socket_timeout=MONITOR_TIMEOUT)
        self._monitor: Any = None
        self._tag = uuid.uuid4().hex
        self._serial = itertools.count()

    def __enter__(self) -> Recorder:
        self._marker.ping()  # its connection's handshake, before anything is watched
        self._monitor = self._monitor_client.monitor().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._monitor.__exit__(*exc)
        self._marker.close()
        self._monitor_client.close()

    def measure(self, send: Callable[[], Any]) -> tuple[Any, Counts]:
        """``send()``'s result, and what it made Redis do."""
        serial = next(self._serial)
        start, end = (
            f"qrauth-bench-{self._tag}-{serial}-start",
            f"qrauth-bench-{self._tag}-{serial}-end",
        )
        self._marker.echo(start)
        with counting_round_trips() as sent:
            result = send()
        self._marker.echo(end)
        client, scripts = self._between(start, end)
        return result, Counts(client, scripts, sent[0])

    def _between(self, start: str, end: str) -> tuple[Counter[str], Counter[str]]:
        client: Counter[str] = Counter()
        scripts: Counter[str] = Counter()
        line = self._next()
        if line["command"] != f"ECHO {start}":
            raise RuntimeError("something else talks to this Redis: the counts would be wrong")
        while (line := self._next())["command"] != f"ECHO {end}":
            name = line["command"].partition(" ")[0].upper()
            (scripts if line["client_type"] == "lua" else client)[name] += 1
        return client, scripts

    def _next(self) -> dict[str, Any]:
        line = self._monitor.next_command()
        if line is None:
            raise RuntimeError("MONITOR stopped answering")
        return line


@contextmanager
def counting_round_trips() -> Iterator[list[int]]:
    """Count redis-py's writes in this process meanwhile: one per command
    sent alone, one per pipeline. Only the request runs meanwhile."""
    original = AbstractConnection.send_packed_command
    sent = [0]

    def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        original(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


# -- the flows ----------------------------------------------------------------------


class _Flow:
    """Requests of one flow, each measured once and checked."""

    def __init__(self, recorder: Recorder, flow: str) -> None:
        self.recorder = recorder
        self.flow = flow
        self.rows: list[Row] = []

    def request(self, endpoint: str, send: Callable[[], Any], expect: Expect) -> Any:
        response, counts = self.recorder.measure(send)
        _check(response, expect, f"{self.flow}: {endpoint}")
        client, scripts = sum(counts.client.values()), sum(counts.scripts.values())
        code, trips, names = response.status_code, counts.round_trips, counts.summary()
        self.rows.append(Row(endpoint, self.flow, code, client, scripts, trips, names))
        return response


def _check(response: Any, expect: Expect, what: str) -> None:
    """Raise unless ``response`` is what the flow expects (no URL: it may hold a token)."""
    if response.status_code != expect.status:
        raise RuntimeError(f"{what} answered {response.status_code}, expected {expect.status}")
    templates = [template.name for template in response.templates or []]
    if expect.template and expect.template not in templates:
        raise RuntimeError(f"{what} rendered {templates}, expected {expect.template}")
    if expect.location and response.get("Location") != expect.location:
        raise RuntimeError(f"{what} redirected elsewhere than {expect.location}")
    if expect.hint:
        payload = response.json()
        found = (payload.get("state"), payload.get("hint"))
        if found != ("pending", expect.hint):
            raise RuntimeError(f"{what} says {found}, expected ('pending', {expect.hint!r})")


def _signed_in(client: Any, user: Any, what: str) -> None:
    from django.contrib.auth import SESSION_KEY

    if client.session.get(SESSION_KEY) != str(user.pk):
        raise RuntimeError(f"{what} did not sign its browser in")


def _handoff(recorder: Recorder, serial: int) -> list[Row]:
    from django.shortcuts import resolve_url
    from django.urls import reverse

    from qrauth.conf import settings

    user = orders.new_user(f"commands-{serial}-handoff-{uuid.uuid4().hex[:8]}")
    desktop = orders.browser(DESKTOP_UA, f"192.0.2.{serial % 250 + 1}", user)
    phone = orders.browser(PHONE_UA, f"198.51.100.{serial % 250 + 1}")
    done = resolve_url(settings.REDIRECT_URL)
    flow = _Flow(recorder, HANDOFF)
    page = flow.request("QR page GET /qr/", lambda: desktop.get("/qr/"), _page(200))
    order_id = page.context["auth_code"]
    picture = f"/qr/pic/{order_id}/"
    image = flow.request("picture GET /qr/pic/<code>/", lambda: desktop.get(picture), Expect(200))
    scan = journey.decoded_link(image.content)  # the static code the picture shows
    question = reverse("qrauth_continue")
    to_question = Expect(302, location=question)
    flow.request("scan URL GET /qr/<token>/", lambda: phone.get(scan), to_question)
    flow.request("scan URL HEAD /qr/<token>/", lambda: phone.head(scan), to_question)
    confirm_page = Expect(200, template="qrauth/confirm.html")
    flow.request("question GET /qr/continue/", lambda: phone.get(question), confirm_page)
    status = f"/qr/status/{order_id}/"
    flow.request("status poll (scanned)", lambda: desktop.get(status), Expect(200, hint="scanned"))
    signed_in = Expect(302, location=done)
    answer = {"action": "continue"}
    flow.request("confirm POST /qr/continue/", lambda: phone.post(question, answer), signed_in)
    _signed_in(phone, user, "the hand-off confirm")
    again = flow.request(
        "QR page again (replaces its order)", lambda: desktop.get("/qr/"), _page(200)
    )
    cancel = f"/qr/cancel/{again.context['auth_code']}/"
    flow.request("cancel POST /qr/cancel/<code>/", lambda: desktop.post(cancel), signed_in)
    return flow.rows


def _page(status: int) -> Expect:
    return Expect(status, template="qrauth/page.html")


def _approve(recorder: Recorder, serial: int) -> list[Row]:
    from django.conf import settings as django_settings
    from django.shortcuts import resolve_url
    from django.urls import reverse

    user = orders.new_user(f"commands-{serial}-approve-{uuid.uuid4().hex[:8]}")
    desktop = orders.browser(DESKTOP_UA, f"203.0.113.{serial % 250 + 1}")
    phone = orders.browser(PHONE_UA, f"198.51.100.{serial % 250 + 1}", user)
    flow = _Flow(recorder, APPROVE)
    signin_page = Expect(200, template="qrauth/signin.html")
    page = flow.request(
        "signin page GET /qr/signin/", lambda: desktop.get("/qr/signin/"), signin_page
    )
    order_id = page.context["auth_code"]
    picture = f"/qr/signin/pic/{order_id}/"
    image = flow.request("signin picture GET", lambda: desktop.get(picture), Expect(200))
    scan = journey.decoded_link(image.content)  # the frame the picture shows
    approve = reverse("qrauth_approve_resume")
    to_page = Expect(302, location=approve)
    flow.request("approve URL GET /qr/approve/<token>/", lambda: phone.get(scan), to_page)
    approve_page = Expect(200, template="qrauth/approve.html")
    flow.request(
        "approve page GET /qr/approve/ by a signed-in phone",
        lambda: phone.get(approve),
        approve_page,
    )
    status = f"/qr/status/{order_id}/"
    poll = flow.request(
        "status poll (scanned, with the number)",
        lambda: desktop.get(status),
        Expect(200, hint="scanned"),
    )
    number = poll.json()["number"]
    if not number:
        raise RuntimeError("approve: the status poll shows no number after the phone's page GET")
    answer = {"action": "approve", "number": number}
    done = Expect(200, template="qrauth/approve_done.html")
    decided = flow.request("approve POST /qr/approve/", lambda: phone.post(approve, answer), done)
    if not decided.context["approved"]:
        raise RuntimeError("approve: the phone's answer did not approve")
    collect = f"/qr/signin/collect/{order_id}/"
    continue_as = Expect(200, template="qrauth/continue_as.html")
    flow.request(
        "collect POST (names the account: Continue as?)",
        lambda: desktop.post(collect),
        continue_as,
    )
    signed_in = Expect(302, location=resolve_url(django_settings.LOGIN_REDIRECT_URL))
    flow.request(
        "collect POST confirm=account (desktop signs in)",
        lambda: desktop.post(collect, {"confirm": "account"}),
        signed_in,
    )
    _signed_in(desktop, user, "the approve collect")
    return flow.rows


def count_commands(*, warm_up: bool = True) -> list[Row]:
    """Commands and round trips of each request of both flows, made once.

    ``warm_up``: first run both flows unmeasured, so that qrauth's
    connection is open and its scripts loaded: the steady state. Without
    it, on a Redis just started, each endpoint's first request also pays
    SCRIPT LOAD (after a NOSCRIPT) and possibly the connection's handshake.
    Needs orders.setup_django() (responses must carry their templates)."""
    url = _redis_url()
    with Recorder(url) as recorder:
        if warm_up:
            _rows(recorder)
        return _rows(recorder)


def _rows(recorder: Recorder) -> list[Row]:
    serial = next(_passes)
    return _handoff(recorder, serial) + _approve(recorder, serial)


def _redis_url() -> str:
    from qrauth.conf import settings

    if not settings.REDIS_URL:
        raise RuntimeError("count_commands needs AUTH_QR_CODE_REDIS_URL (the bench site sets it)")
    return settings.REDIS_URL


# -- the report -------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = [
        "| flow | endpoint | status | commands sent | run by scripts | round trips | which |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        trips = "?" if row.round_trips is None else str(row.round_trips)
        lines.append(
            f"| {row.flow} | {row.endpoint} | {row.status_code} | {row.client_commands} | "
            f"{row.script_commands} | {trips} | {row.commands} |"
        )
    return "\n".join(lines)


def cold_note(cold: list[Row], warm: list[Row]) -> str:
    """How the first requests on a Redis just started differ from the steady state."""
    changed = [
        f"{c.flow} {c.endpoint}: {c.client_commands} sent in {c.round_trips} round trips, "
        f"{c.commands}"
        for c, w in zip(cold, warm, strict=True)
        if (c.client_commands, c.round_trips) != (w.client_commands, w.round_trips)
    ]
    if not changed:
        return "The first requests on a Redis just started cost the same."
    return "First requests on a Redis just started (scripts not loaded yet):\n\n" + "\n".join(
        f"- {line}" for line in changed
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="qrauth-commands-") as name:
        folder = Path(name)
        with servers.redis_server(folder, None) as redis_url:
            orders.use_site(folder, redis_url)
            orders.setup_django()
            cold = count_commands(warm_up=False)
            warm = count_commands()
    print(table(warm) + "\n")
    print(
        "Each request once, after a warm-up pass, counted by MONITOR between ECHO markers; "
        "round trips counted in redis-py. No setting overridden: each order is polled once, "
        "so AUTH_QR_CODE_STATUS_INTERVAL never answers 429.\n"
    )
    print(cold_note(cold, warm))


if __name__ == "__main__":
    main()
