"""Push (AUTH_QR_CODE_PUSH) in a real browser: page.js listens to the
order's event stream where the page names one, and polls the status
endpoint only when the stream fails.

Through a real ASGI server (uvicorn, tests/asgi.py, a redis-server of this
module's own), both flows run to their end in Chromium on the stream alone:
not one status poll, a new frame each second, and a quiet stream (the
number typed slowly) kept by its heartbeats. Behind a proxy that holds the
events back, the page polls after FIRST_EVENT and the flow still ends.
Under Django's live_server, with the page's timers on Playwright's fake
clock (as in tests/test_page_js.py): a stream refused (404, 429, 503) gives
way to polls at once; a stream that never answers, or that a WSGI server
buffers, after FIRST_EVENT; one silent after its first event, after
SILENCE; always quietly.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from qrauth import store
from qrauth.wording import describe

from . import test_browser
from .distributed_servers import (
    AsgiServer,
    django_admin,
    django_env,
    require_tool,
    signed_in_session,
)
from .helpers import decode_png
from .redis_servers import REDIS_SERVER, RedisServer
from .test_page_js import (
    HIDE,
    PENDING,
    START,
    WATCH_POLLS,
    advance,
    gaps,
    polls,
    settle,
    wait_until,
)

pytestmark = [pytest.mark.browser]

# Playwright's sync API runs an event loop in this thread; the test's own
# database calls (under live_server) are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

STATUS = "/qr/status/"
EVENTS = "/qr/events/"
TIMEOUT = 30_000  # ms: any wait of Playwright's, on a loaded two-core machine
FIRST_EVENT = 4000  # ms: page.js's wait for a stream's first event
SILENCE = 12_000  # ms: and for each next one
SIGNED_IN = describe(store.CONSUMED, "Safari on iOS")["message"]


def assert_on_the_stream_alone(sent) -> None:
    """The page made no poll and opened one stream, from its load to the end."""
    assert sent.to(STATUS) == 0, "the page polled, with a stream to listen to"
    assert sent.to(EVENTS) == 1, (
        "one stream, open from the page's load to the end; a second would be "
        "the browser reconnecting a dropped stream (retry:), which nothing here drops"
    )


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium for this module, as tests/test_browser.py starts it
    (without its live_server: most tests here have a server of their own)."""
    if not os.path.exists(test_browser.CHROMIUM):
        message = "chromium is not installed: run scripts/ensure-tools chromium=chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=test_browser.CHROMIUM, args=test_browser.CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser, **options):
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
    context.set_default_timeout(TIMEOUT)
    return context


class Sent:
    """The requests a browser context sends, counted by path."""

    def __init__(self, context) -> None:
        self.urls: list[str] = []
        context.on("request", lambda request: self.urls.append(request.url))

    def to(self, path: str) -> int:
        return sum(1 for url in self.urls if urlsplit(url).path.startswith(path))


# What the page's EventSource hears: its messages (as parsed), its
# heartbeats, and those since the last message (quiet); on the page's own clock
# (performance.now), when each stream was opened and each status poll sent.
WATCH_STREAMS = """
(() => {
  const seen = (window.__streams = { opened: [], polled: [], messages: [], pings: 0, quiet: 0 });
  window.EventSource = class extends window.EventSource {
    constructor(...args) {
      super(...args);
      seen.opened.push(performance.now());
      this.addEventListener("message", (event) => {
        seen.messages.push(JSON.parse(event.data));
        seen.quiet = 0;
      });
      this.addEventListener("ping", () => {
        seen.pings += 1;
        seen.quiet += 1;
      });
    }
  };
  const fetch = window.fetch;
  window.fetch = function (resource) {
    if (String(resource).includes("/qr/status/")) seen.polled.push(performance.now());
    return fetch.apply(this, arguments);
  };
})();
"""


def streams(page) -> dict:
    return page.evaluate("window.__streams")


def read_qr_on_screen(page) -> str:
    canvas = page.locator(".qrauth-code canvas")
    canvas.wait_for(state="visible")
    return decode_png(canvas.screenshot())


def next_frame(page, shown: str) -> str:
    """The first frame the page draws after ``shown`` (one a second)."""
    deadline = 20  # s: a frame a second, on a loaded machine
    for _ in range(deadline * 10):
        page.wait_for_timeout(100)  # looking at the screen, not waiting on a clock of ours
        frame = read_qr_on_screen(page)
        if frame != shown:
            return frame
    raise AssertionError(f"the code on the screen did not change within {deadline} s")


def message(page) -> str:
    return page.locator("[data-qrauth-message]").inner_text()


def offline_text(page) -> str:
    return page.locator("[data-qrauth-message]").get_attribute("data-qrauth-offline")


def events_url(page) -> str | None:
    return page.locator("[data-qrauth-status]").get_attribute("data-qrauth-events")


def auth_code(page) -> str:
    status = page.locator("[data-qrauth-status]").get_attribute("data-qrauth-status")
    return status.rstrip("/").rsplit("/", 1)[1]


# -- a real ASGI server ------------------------------------------------------------------


@dataclass
class Site:
    """uvicorn serving the test site, its database file and its Redis."""

    env: dict[str, str]
    server: AsgiServer

    @property
    def url(self) -> str:
        return self.server.base_url

    def context_of(self, browser, username: str | None, url: str | None = None, **options):
        """A browser context, signed in as ``username`` (None: not signed in)
        for the site at ``url`` (a proxy's; the site's own by default)."""
        context = new_context(browser, **options)
        if username:
            value = signed_in_session(self.env, username)
            context.add_cookies([{"name": "sessionid", "value": value, "url": url or self.url}])
        return context


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    """The test site under uvicorn (AUTH_QR_CODE_PUSH "auto": its pages
    name their streams), on a migrated database file and a redis-server of
    this module's own."""
    require_tool(REDIS_SERVER)
    redis_server = RedisServer()
    server: AsgiServer | None = None
    try:
        redis_server.start()
        database = tmp_path_factory.mktemp("push-site") / "db.sqlite3"
        env = django_env(database, redis_server.url)
        django_admin(env, "migrate", "--noinput", "--run-syncdb")
        server = AsgiServer(env).start()
        server.wait_until_answering()
        yield Site(env, server)
    finally:
        if server is not None:
            server.stop()
        redis_server.cleanup()


@pytest.mark.slow
def test_approve_signs_the_desktop_in_on_the_stream_alone(chromium, site):
    """The sign-in page listens to its stream: the frames, the phone's scan
    (the number to type), the approval all come on it; page.js then sends
    the Continue form by itself. Not one status poll on the way."""
    desktop_context = site.context_of(chromium, None)
    phone_context = site.context_of(chromium, "bob", **test_browser.IPHONE)
    try:
        sent = Sent(desktop_context)
        desktop = desktop_context.new_page()
        desktop.add_init_script(WATCH_STREAMS)
        desktop.goto(f"{site.url}/qr/signin/")
        assert events_url(desktop) == f"{EVENTS}{auth_code(desktop)}/"
        first = read_qr_on_screen(desktop)
        scan_url = next_frame(desktop, first)  # the frames come on the stream too
        assert scan_url.startswith(f"{site.url}/qr/approve/")

        phone = phone_context.new_page()
        phone.goto(scan_url)
        number = desktop.locator("[data-qrauth-number] strong")
        number.wait_for(state="visible")
        assert desktop.locator(".qrauth-code").is_hidden()  # the phone has it open
        # The person takes their time to type the number: no frame to send,
        # the stream says nothing but its heartbeats (one per 5 s), for
        # longer than page.js's SILENCE (12 s). It is still listened to.
        desktop.wait_for_function("() => __streams.quiet >= 3", timeout=TIMEOUT)
        phone.get_by_label("Number shown on the other screen").fill(number.inner_text())
        phone.get_by_role("button", name="Approve").click()
        phone.get_by_text("The other screen is signing in now").wait_for()

        continue_as = desktop.get_by_role("button", name="Continue as bob")
        continue_as.wait_for()  # page.js sent the collect form on "approved"
        continue_as.click()
        desktop.wait_for_url(f"{site.url}/")
        assert desktop.locator("body").inner_text() == "home: bob"
        assert_on_the_stream_alone(sent)
    finally:
        desktop_context.close()
        phone_context.close()


@pytest.mark.slow
def test_hand_off_shows_the_phone_signed_in_on_the_stream_alone(chromium, site):
    """The signed-in desktop's QR page listens to its stream: it hears the
    scan and the phone's sign-in, says so, and ends, with no status poll."""
    desktop_context = site.context_of(chromium, "alice")
    phone_context = site.context_of(chromium, None, **test_browser.IPHONE)
    try:
        sent = Sent(desktop_context)
        desktop = desktop_context.new_page()
        desktop.add_init_script(WATCH_STREAMS)
        desktop.goto(f"{site.url}/qr/")
        assert events_url(desktop) == f"{EVENTS}{auth_code(desktop)}/"
        scan_url = next_frame(desktop, read_qr_on_screen(desktop))
        assert scan_url.startswith(f"{site.url}/qr/")

        phone = phone_context.new_page()
        phone.goto(scan_url)
        assert phone.url == f"{site.url}/qr/continue/"  # the token left the address bar
        assert phone.locator("h1").inner_text() == "Sign in as alice on this device?"
        desktop.get_by_text("Scanned on a phone (Safari on iOS).").wait_for()
        phone.get_by_role("button", name="Continue").click()
        phone.wait_for_url(f"{site.url}/")
        assert phone.locator("body").inner_text() == "home: alice"

        desktop.get_by_text(SIGNED_IN).wait_for()
        last = streams(desktop)["messages"][-1]
        assert (last["state"], last["hint"]) == ("complete", "signed_in")
        assert desktop.locator("[data-qrauth-result]").get_attribute("data-qrauth-tone") == (
            "success"
        )
        assert desktop.locator(".qrauth-code canvas").is_hidden()
        assert desktop.get_by_role("link", name="Go to the site").is_visible()
        assert_on_the_stream_alone(sent)
    finally:
        desktop_context.close()
        phone_context.close()


def frame_number(status: dict) -> int:
    """How many seconds into its order a status's frame is (its token's middle)."""
    return int(urlsplit(status["frame"]).path.rstrip("/").rsplit("/", 1)[1].split(".")[1])


@pytest.mark.slow
def test_the_code_on_the_screen_changes_every_second_on_the_stream(chromium, site):
    """While the code shows, the stream brings the frame of each second (as
    the polls did), and never a heartbeat instead of one (under uvloop a
    timer fires up to a millisecond early: that is the tick, not a pause)."""
    context = site.context_of(chromium, "alice")
    try:
        page = context.new_page()
        page.add_init_script(WATCH_STREAMS)
        page.goto(f"{site.url}/qr/")
        page.wait_for_function("() => __streams.messages.length >= 2")  # the first, and one
        page.wait_for_function("() => performance.now() - __streams.opened[0] > 6500", polling=100)
        seen = streams(page)
        numbers = [frame_number(status) for status in seen["messages"]]
        assert numbers == sorted(numbers)
        shown = sorted(set(numbers))
        assert shown == list(range(shown[0], shown[-1] + 1)), f"frames skipped: {numbers}"
        assert len(shown) >= 6, numbers
        assert seen["pings"] == 0, f"{seen['pings']} heartbeats while frames flowed: {numbers}"
    finally:
        context.close()


# -- a proxy that buffers ------------------------------------------------------------------


class BufferingProxy:
    """A reverse proxy in front of ``port`` that passes each answer's
    headers on at once but its body only once whole, as a proxy that
    buffers does (one that ignores X-Accel-Buffering, a filter). Pages,
    polls and static files get through; an event stream's events do not
    until the stream ends. One request a connection (Connection: close)."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BufferingProxy:
        threading.Thread(target=self._accept, name="buffering-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # stopped
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _own(self, sock: socket.socket) -> socket.socket:
        sock.settimeout(60)
        with self.lock:
            self.sockets.add(sock)
        return sock

    def _relay(self, client: socket.socket) -> None:
        try:
            with self._own(client) as client:
                request = _read_request(client)
                if request is None:
                    return  # a connection opened ahead, never used
                upstream = socket.create_connection(("127.0.0.1", self.upstream))
                with self._own(upstream) as upstream:
                    upstream.sendall(request)
                    self._answer(client, upstream)
        except (OSError, ValueError):  # ValueError: select() on a socket stop() closed
            pass  # either side went away: so does this relay

    def _answer(self, client: socket.socket, upstream: socket.socket) -> None:
        head, body = _read_head(upstream)
        client.sendall(head)
        held = [body]
        while True:
            readable, _, _ = select.select([upstream, client], [], [], 60)
            if client in readable and not client.recv(1):
                return  # the browser gave up on it (closed an EventSource)
            if upstream in readable:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                held.append(chunk)
        client.sendall(b"".join(held))


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed before the end of the headers")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _read_request(client: socket.socket) -> bytes | None:
    """The browser's request, with Connection: close; None if it sends none."""
    try:
        head, body = _read_head(client)
    except OSError:
        return None
    lines = head[:-4].split(b"\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = client.recv(65536)
        if not chunk:
            break
        body += chunk
    kept = [line for line in lines if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n" + body


@pytest.fixture
def proxy(site) -> Iterator[BufferingProxy]:
    proxy = BufferingProxy(site.server.port).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.mark.slow
def test_behind_a_buffering_proxy_the_page_polls_and_the_hand_off_ends(chromium, site, proxy):
    """The stream's headers come, its events never do: after FIRST_EVENT of
    silence the page polls instead, quietly, and the hand-off goes on to
    its end on polls."""
    desktop_context = site.context_of(chromium, "alice", proxy.base_url)
    phone_context = site.context_of(chromium, None, **test_browser.IPHONE)
    try:
        sent = Sent(desktop_context)
        desktop = desktop_context.new_page()
        desktop.add_init_script(WATCH_STREAMS)
        desktop.goto(f"{proxy.base_url}/qr/")
        assert events_url(desktop)
        desktop.wait_for_function("() => __streams.polled.length > 0", timeout=TIMEOUT)
        seen = streams(desktop)
        assert len(seen["opened"]) == 1 and not seen["messages"]
        silent = seen["polled"][0] - seen["opened"][0]
        assert FIRST_EVENT - 100 <= silent < FIRST_EVENT + 10_000, silent  # the watchdog's
        scan_url = read_qr_on_screen(desktop)
        assert scan_url.startswith(f"{proxy.base_url}/qr/")
        assert message(desktop) == PENDING  # nothing alarming: polls just work

        phone = phone_context.new_page()
        phone.goto(scan_url)
        phone.get_by_role("button", name="Continue").click()
        phone.wait_for_url(f"{proxy.base_url}/")
        assert phone.locator("body").inner_text() == "home: alice"
        desktop.get_by_text(SIGNED_IN).wait_for()
        assert desktop.locator("[data-qrauth-result]").get_attribute("data-qrauth-tone") == (
            "success"
        )
        assert sent.to(EVENTS) == 1  # given up for good, not opened again
        assert sent.to(STATUS) >= 2
        assert offline_text(desktop) not in desktop.locator("body").inner_text()
    finally:
        desktop_context.close()
        phone_context.close()


# -- Django's live_server (WSGI), on the page's fake clock -----------------------------------


@pytest.fixture
def live(live_server, transactional_db, real_redis, settings):
    """Django's live server, its pages naming their streams (AUTH_QR_CODE_PUSH
    "on", though a WSGI server cannot stream them)."""
    # As tests/test_browser.py's chromium fixture: each request thread opens
    # its own connection to the test database.
    live_server.thread.connections_override.clear()
    settings.AUTH_QR_CODE_PUSH = "on"
    return live_server


@pytest.fixture
def page(chromium, live, alice):
    """alice's desktop browser, its clock paused; not yet on the QR page."""
    context = test_browser.signed_in_context(chromium, alice, live.url)
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        page.clock.install(time=START - 60)  # early: the clock runs until it is paused
        page.clock.pause_at(START)
        page.add_init_script(WATCH_POLLS)
        yield page
    finally:
        context.close()


def canvas(page):
    return page.locator(".qrauth-code canvas")


def assert_polling_quietly(page, live) -> None:
    """The page polls once a second and shows the code, saying nothing of
    the stream it gave up on."""
    assert decode_png(canvas(page).screenshot()).startswith(f"{live.url}/qr/")
    assert message(page) == PENDING
    first = len(polls(page))
    advance(page, 3000)
    assert gaps(polls(page)[first - 1 :]) == [1000, 1000, 1000]
    assert message(page) == PENDING  # not "The site is not answering"
    assert page.locator("[data-qrauth-result]").get_attribute("data-qrauth-tone") == ""


@pytest.mark.parametrize("refusal", [404, 429, 503])
def test_a_refused_stream_gives_way_to_polls_at_once(page, live, refusal):
    """404 (push turned off, an old server), 429 (too many streams), 503
    (Redis away): the EventSource closes for good, and the page polls at
    once, before any timer of its own ran."""
    asked = []

    def refuse(route):
        asked.append(route.request.url)
        route.fulfill(status=refusal, json={}, headers={"Retry-After": "5"})

    page.route(f"**{EVENTS}**", refuse)
    page.goto(f"{live.url}/qr/")
    assert events_url(page) == f"{EVENTS}{auth_code(page)}/"
    page.wait_for_function("() => __polls.started.length > 0")
    settle(page)
    assert polls(page) == [0]  # the clock never moved: not the FIRST_EVENT watchdog
    assert len(asked) == 1
    assert_polling_quietly(page, live)
    assert len(asked) == 1  # not asked again


# An event stream that opens and ends without an event; the browser would
# open it again an hour later (retry:).
NO_EVENTS = "retry: 3600000\n\n"


@pytest.mark.parametrize("silence", ["held", "no events"])
def test_a_stream_that_never_answers_gives_way_to_polls(page, live, silence):
    """The events request hangs (a proxy holding it, a filter), or comes
    back without an event: after FIRST_EVENT of silence the page polls
    instead."""
    asked = []

    def answer(route):
        asked.append(route)  # held: never answered
        if silence == "no events":
            route.fulfill(status=200, content_type="text/event-stream", body=NO_EVENTS)

    page.route(f"**{EVENTS}**", answer)
    page.goto(f"{live.url}/qr/")
    wait_until(page, lambda: asked, seconds=TIMEOUT / 1000)
    advance(page, FIRST_EVENT - 1000)
    assert polls(page) == []  # waiting for the stream, as it should
    advance(page, 1000)
    assert polls(page) == [FIRST_EVENT]
    assert_polling_quietly(page, live)
    assert len(asked) == 1


def test_a_stream_that_falls_silent_gives_way_after_silence(page, live):
    """A stream that brought the status, then nothing (a proxy that passed
    the first bytes, then buffers): the first event is heard, so the page
    waits SILENCE, not FIRST_EVENT, before it polls."""

    def one_event(route):
        status = route.fetch(url=route.request.url.replace(EVENTS, STATUS)).text()
        body = f"retry: 3600000\nid: not_scanned\ndata: {status}\n\n"
        route.fulfill(status=200, content_type="text/event-stream", body=body)

    page.route(f"**{EVENTS}**", one_event)
    page.goto(f"{live.url}/qr/")
    canvas(page).wait_for(state="visible")  # drawn from the event
    assert decode_png(canvas(page).screenshot()).startswith(f"{live.url}/qr/")
    advance(page, SILENCE - 1000)
    assert polls(page) == []  # the stream was heard from: no FIRST_EVENT fallback
    advance(page, 1000)
    assert polls(page) == [SILENCE]
    assert_polling_quietly(page, live)


def test_under_wsgi_the_named_stream_is_refused_and_the_page_polls(page, live):
    """AUTH_QR_CODE_PUSH "on" under a WSGI server: the page names its stream
    (for a site that routes the streams to an ASGI process), but a WSGI
    server does not serve it (it would hold a worker until the order
    ends): 404, and the page polls at once."""
    with page.expect_request(f"**{EVENTS}**"):
        page.goto(f"{live.url}/qr/")
    assert events_url(page) == f"{EVENTS}{auth_code(page)}/"
    page.wait_for_function("() => __polls.started.length > 0")
    settle(page)
    assert polls(page) == [0]
    assert_polling_quietly(page, live)
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(f"{live.url}/")


# Every EventSource the page makes, and whether each is still open.
WATCH_SOURCES = """
(() => {
  const made = (window.__sources = []);
  window.EventSource = class extends window.EventSource {
    constructor(...args) {
      super(...args);
      made.push(this);
    }
  };
})();
"""
OPEN_SOURCES = "window.__sources.filter((source) => source.readyState !== 2).length"
HIDDEN_AT_LOAD = """Object.defineProperty(document, "hidden", { value: true, configurable: true });
Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });"""


def test_a_page_opened_in_a_background_tab_listens_once_seen_and_only_once(page, live):
    """Opened in a background tab, the page opens no stream (nor polls)
    until it is seen; hidden and seen again, it closes its stream and opens
    one: never two open at once, none left to reconnect after the end."""
    opened = []

    def stream(route):
        opened.append(route.request.url)
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=NO_EVENTS)

    page.route(f"**{EVENTS}**", stream)
    page.add_init_script(WATCH_SOURCES)
    page.add_init_script(HIDDEN_AT_LOAD)
    page.goto(f"{live.url}/qr/")
    settle(page)
    assert (opened, polls(page), page.evaluate("window.__sources.length")) == ([], [], 0)
    page.evaluate(HIDE, False)
    wait_until(page, lambda: len(opened) == 1)
    assert page.evaluate(OPEN_SOURCES) == 1
    page.evaluate(HIDE, True)
    assert page.evaluate(OPEN_SOURCES) == 0
    page.evaluate(HIDE, False)
    page.evaluate(HIDE, False)  # a second "visible" must not open a second stream
    wait_until(page, lambda: len(opened) == 2)
    assert page.evaluate(OPEN_SOURCES) == 1
    settle(page)
    assert len(opened) == 2
    assert page.evaluate("window.__sources.length") == 2  # one each time it was seen
