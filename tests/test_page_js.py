"""The QR page's script, page.js, in headless Chromium: it polls the status
endpoint about once a second, never twice at once, not while the tab is
hidden, backs off while the network or Redis is away, stops on a final
state or a 404, and redraws the canvas with each new frame. Its Cancel
button and "Get a new code" link work for real.

The page's timers run on Playwright's fake clock, moved by hand; the status
requests go to the live server, or to a route that holds, fails or fakes them.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urljoin

import pytest
from django.urls import reverse

from qrauth import store, tokens
from qrauth.wording import describe, outcome

from . import test_browser
from .helpers import decode_png, hand_clock

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("real_redis"),
    pytest.mark.browser,
]

# Playwright's sync API runs an event loop in this thread; the test's own
# database calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

chromium = test_browser.chromium  # the module's browser, as a fixture of this module

START = 1_800_000_000  # the page's clock, in s (Playwright for Python counts seconds)
STATUS = "**/qr/status/**"
PENDING = outcome("pending", "not_scanned")["message"]

# Counts the page's status polls, with the fake clock's time of each, and
# tells when the page has done with the answer to each: a real task after the
# answer (and its body, when the page reads it) arrived, by which time the
# page's promise chain has run and its next poll is scheduled.
WATCH_POLLS = """
(() => {
  const polls = (window.__polls = { started: [], settled: 0 });
  const fetch = window.fetch;
  const json = Response.prototype.json;
  const nextTask = () =>
    new Promise((resolve) => {
      const channel = new MessageChannel(); // not faked by the clock
      channel.port1.onmessage = resolve;
      channel.port2.postMessage(null);
    });
  const done = () => nextTask().then(() => (polls.settled += 1));
  Response.prototype.json = function () {
    const reading = json.call(this);
    this.__read = reading.catch(() => null);
    return reading;
  };
  window.fetch = function (resource) {
    const answer = fetch.apply(this, arguments);
    if (!String(resource).includes("/qr/status/")) return answer;
    polls.started.push(Date.now());
    answer.then((response) => nextTask().then(() => response.__read)).then(done, done);
    return answer;
  };
})();
"""

HIDE = """hidden => {
  Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
  Object.defineProperty(document, "visibilityState", {
    value: hidden ? "hidden" : "visible",
    configurable: true,
  });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.fixture
def page(chromium, alice, live_server):
    """alice's desktop browser, its clock paused; not yet on the QR page."""
    context = test_browser.signed_in_context(chromium, alice, live_server.url)
    page = context.new_page()
    page.clock.install(time=START - 60)  # early: the clock runs until it is paused
    page.clock.pause_at(START)
    page.add_init_script(WATCH_POLLS)
    yield page
    context.close()


def open_qr(page, live_server) -> None:
    page.goto(f"{live_server.url}/qr/")
    settle(page)


def settle(page) -> None:
    """Wait (in real time) until the page has done with every poll it sent."""
    page.wait_for_function("() => __polls.settled === __polls.started.length")


def advance(page, ms: int, step: int = 1000) -> None:
    """Move the page's clock on ``ms``, a ``step`` at a time, letting each poll
    answer before the clock moves again: a network round trip takes real
    time, which the page's clock must not lose."""
    for _ in range(ms // step):
        page.clock.run_for(step)
        settle(page)


def polls(page) -> list[int]:
    """When each status poll was sent, in ms of the page's clock since START."""
    return [at - START * 1000 for at in page.evaluate("__polls.started")]


def gaps(times: list[int]) -> list[int]:
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


def wait_until(page, condition, seconds: float = 5) -> None:
    """Let Playwright deliver events (route handlers) until ``condition()``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(10)


def message(page) -> str:
    return page.locator("[data-qrauth-message]").inner_text()


def canvas(page):
    return page.locator(".qrauth-code canvas")


def status_url(page) -> str:
    return urljoin(
        page.url, page.locator("[data-qrauth-status]").get_attribute("data-qrauth-status")
    )


def auth_code(page) -> str:
    return status_url(page).rstrip("/").rsplit("/", 1)[1]


def passing_unless(condition, answer):
    """A route handler: the real server's answer, or ``answer(route)`` while
    ``condition()``."""

    def handle(route):
        if condition():
            answer(route)
        else:
            route.continue_()

    return handle


def test_the_code_and_the_status_have_text_alternatives(page, live_server):
    open_qr(page, live_server)
    code = page.get_by_role("img", name="QR code that signs your phone in to this account")
    assert code.evaluate("node => node.tagName") == "CANVAS"
    assert code.is_visible()
    status = page.locator("[data-qrauth-message]")
    assert status.get_attribute("aria-live") == "polite"
    assert status.inner_text() == PENDING


def test_polls_once_a_second(page, live_server):
    open_qr(page, live_server)
    advance(page, 5000, step=100)  # fine steps: a faster loop would show
    assert polls(page)[0] == 0  # at once on load
    assert 4 <= len(polls(page)[1:]) <= 6


def test_never_two_polls_at_once(page, live_server):
    held = []
    page.route(STATUS, passing_unless(lambda: not held, held.append))  # the first, by hand
    page.goto(f"{live_server.url}/qr/")
    wait_until(page, lambda: held)
    page.clock.run_for(10_000)
    page.evaluate(HIDE, False)  # back to the tab: a poll now would be a second one
    assert polls(page) == [0]
    held[0].continue_()
    settle(page)
    assert canvas(page).is_visible()
    advance(page, 3000)
    assert polls(page) == [0, 11_000, 12_000, 13_000]


def test_pauses_while_the_tab_is_hidden(page, live_server):
    open_qr(page, live_server)
    page.evaluate(HIDE, True)
    advance(page, 10_000)
    assert len(polls(page)) == 1  # the poll already scheduled was called off
    sent = len(polls(page))
    page.evaluate(HIDE, False)
    assert len(polls(page)) == sent + 1  # at once, before the clock moves
    settle(page)
    advance(page, 2000)
    assert gaps(polls(page))[-2:] == [1000, 1000]


def test_backs_off_while_the_network_is_away(page, live_server):
    offline = [True]
    page.route(STATUS, passing_unless(lambda: offline[0], lambda route: route.abort()))
    open_qr(page, live_server)
    assert message(page) == PENDING  # one failure is not an outage yet
    advance(page, 2000)
    offline_message = page.locator("[data-qrauth-message]").get_attribute("data-qrauth-offline")
    assert message(page) == offline_message
    advance(page, 58_000)
    assert gaps(polls(page)) == [2000, 4000, 8000, 16_000, 30_000]  # at most 30 s

    offline[0] = False
    advance(page, 30_000)
    assert polls(page)[-1] == 90_000
    assert message(page) == PENDING
    assert canvas(page).is_visible()
    advance(page, 3000)
    assert gaps(polls(page))[-3:] == [1000, 1000, 1000]
    offline[0] = True
    advance(page, 1000)
    assert message(page) == PENDING  # the count of failures starts again


def test_redis_down_hides_the_code_and_backs_off(page, live_server):
    down = [False]
    unavailable = {**outcome("failed", "unavailable"), "frame": None}
    page.route(
        STATUS,
        passing_unless(lambda: down[0], lambda route: route.fulfill(status=503, json=unavailable)),
    )
    open_qr(page, live_server)
    assert canvas(page).is_visible()

    down[0] = True
    advance(page, 1000)
    assert message(page) == unavailable["message"]
    assert canvas(page).is_hidden()
    # Nothing that goes with a code stays without it: no empty box, no
    # "do not show it to others", no time ticking for a code not there.
    assert page.locator(".qrauth-code").is_hidden()
    assert page.locator(".qrauth-note").is_hidden()
    assert page.locator("[data-qrauth-countdown]").is_hidden()
    advance(page, 14_000)
    assert gaps(polls(page)) == [1000, 2000, 4000, 8000]  # not a final state: asks on

    down[0] = False
    advance(page, 16_000)
    assert message(page) == PENDING
    assert decode_png(canvas(page).screenshot()).startswith(f"{live_server.url}/qr/")
    assert page.locator("[data-qrauth-cancel]").is_visible()
    assert page.locator(".qrauth-note").is_visible()
    assert page.locator("[data-qrauth-countdown]").is_visible()


def test_waits_as_long_as_retry_after_asks(page, live_server):
    unavailable = {**outcome("failed", "unavailable"), "frame": None}
    headers = {"Retry-After": "7"}
    page.route(STATUS, lambda route: route.fulfill(status=503, json=unavailable, headers=headers))
    open_qr(page, live_server)
    advance(page, 30_000)
    assert gaps(polls(page)) == [7000, 14_000]  # never sooner than asked, then doubling


def test_a_429_keeps_the_code_and_waits_as_asked(page, live_server):
    """The status endpoint's answer to a poll that came too soon
    (AUTH_QR_CODE_STATUS_INTERVAL): not an outage, not a failure."""
    slow = [False]
    slow_down = {**outcome("pending", "slow_down"), "retry_after": 3, "frame": None}
    headers = {"Retry-After": "3"}
    answer = lambda route: route.fulfill(status=429, json=slow_down, headers=headers)  # noqa: E731
    page.route(STATUS, passing_unless(lambda: slow[0], answer))
    open_qr(page, live_server)
    frame = decode_png(canvas(page).screenshot())

    slow[0] = True
    advance(page, 10_000)
    assert gaps(polls(page)) == [1000, 3000, 3000, 3000]  # as asked: no doubling
    assert message(page) == PENDING  # not "offline", not the 429's own words
    assert decode_png(canvas(page).screenshot()) == frame  # the code stays up

    slow[0] = False
    advance(page, 4000)  # the poll at 13 s was told Retry-After at 10 s
    assert gaps(polls(page))[-2:] == [3000, 1000]  # back to once a second
    assert message(page) == PENDING


def test_stops_on_a_final_state(page, live_server):
    expired = [False]
    answer = {**describe(None), "expires_in": 0, "device": "", "frame": None}
    page.route(STATUS, passing_unless(lambda: expired[0], lambda route: route.fulfill(json=answer)))
    open_qr(page, live_server)
    assert canvas(page).is_visible()

    expired[0] = True
    advance(page, 1000)
    assert message(page) == "The code has expired. Get a new code to try again."
    assert canvas(page).is_hidden()
    assert page.locator("[data-qrauth-cancel]").is_hidden()
    assert "qrauth-primary" in page.get_by_role("link", name="Get a new code").get_attribute(
        "class"
    )
    advance(page, 10_000)
    assert polls(page) == [0, 1000]


def test_a_newer_code_in_another_tab_stops_this_one(page, live_server):
    open_qr(page, live_server)
    other_tab = page.context.new_page()
    other_tab.goto(f"{live_server.url}/qr/")  # replaces this browser's order
    assert page.request.get(status_url(page)).status == 404
    advance(page, 1000)
    gone = page.locator("[data-qrauth-message]").get_attribute("data-qrauth-gone")
    assert message(page) == gone
    assert canvas(page).is_hidden()
    advance(page, 10_000)
    assert polls(page) == [0, 1000]


def test_cancel_cancels_the_code(page, live_server):
    open_qr(page, live_server)
    status = status_url(page)
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("body").inner_text() == "home: alice"
    answer = page.request.get(status).json()
    assert (answer["state"], answer["hint"]) == ("failed", "cancelled")


def test_get_a_new_code_shows_a_new_code(page, live_server):
    open_qr(page, live_server)
    first = auth_code(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Get a new code").click()
    settle(page)
    second = auth_code(page)
    assert second != first
    assert f"/qr/{second}." in decode_png(canvas(page).screenshot())
    assert page.request.get(status_url(page)).ok
    assert page.request.get(urljoin(page.url, reverse("qrauth_status", args=[first]))).status == 404


def test_the_frame_on_the_canvas_changes(page, live_server, monkeypatch):
    server_clock = hand_clock(monkeypatch, "now", 1_800_000_000)  # frames follow the server's
    open_qr(page, live_server)
    code = auth_code(page)
    frames = [decode_png(canvas(page).screenshot())]
    for _ in range(3):
        server_clock.now += 1
        advance(page, 1000)
        frames.append(decode_png(canvas(page).screenshot()))
    assert frames == [
        live_server.url + reverse("qr_code_login", args=[tokens.frame_token(code, elapsed)])
        for elapsed in range(4)
    ]


def test_a_plain_approve_code_is_redrawn_in_place(chromium, live_server, settings, monkeypatch):
    """AUTH_QR_CODE_ANIMATED = False on the approve page: the plain image is
    a frame, stale in seconds; with the script running it is fetched again
    every FRAME_TOLERANCE // 2 seconds, and the page is not reloaded."""
    settings.AUTH_QR_CODE_ANIMATED = False
    server_clock = hand_clock(monkeypatch, "now", 1_800_000_000)
    context = test_browser.new_context(chromium)
    page = context.new_page()
    page.clock.install(time=START - 60)
    page.clock.pause_at(START)
    page.add_init_script(WATCH_POLLS)
    try:
        page.goto(f"{live_server.url}/qr/signin/")
        settle(page)
        page.evaluate("window.__samePage = true")
        code = auth_code(page)
        image = page.locator(".qrauth-code img")
        first = decode_png(image.screenshot())
        server_clock.now += 6
        advance(page, 6000)
        wait_until(page, lambda: decode_png(image.screenshot()) != first)
        assert decode_png(image.screenshot()) == live_server.url + reverse(
            "qrauth_approve", args=[tokens.frame_token(code, 6)]
        )
        assert page.evaluate("window.__samePage") is True  # redrawn, not reloaded
    finally:
        context.close()


# -- the time left, the end, a code a phone has open ------------------------------------

# Every text the countdown's live region takes from now on.
RECORD_SAID = """() => {
  const region = document.querySelector("[data-qrauth-said]");
  window.__said = [];
  new MutationObserver(() => window.__said.push(region.textContent)).observe(region, {
    childList: true,
    characterData: true,
    subtree: true,
  });
}"""


def with_answer(change):
    """A route handler: the real server's status, changed by ``change(body)``."""

    def handle(route):
        response = route.fetch()
        route.fulfill(response=response, json=change(response.json()))

    return handle


def test_the_page_counts_the_code_down_and_says_so_now_and_then(page, live_server):
    left = [125]
    page.route(STATUS, with_answer(lambda body: {**body, "expires_in": left[0]}))
    open_qr(page, live_server)
    clock = page.locator("[data-qrauth-clock]")
    assert clock.inner_text() == "Time left: 2:05"
    assert clock.get_attribute("aria-hidden") == "true"  # the live region speaks for it
    region = page.locator("[data-qrauth-said]")
    assert region.get_attribute("aria-live") == "polite"
    assert region.inner_text() == "Time left: 2 minutes"  # there, before the countdown shows
    page.evaluate(RECORD_SAID)
    for _ in range(5):
        left[0] -= 1
        advance(page, 1000)
    assert clock.inner_text() == "Time left: 2:00"
    while left[0] > 1:
        left[0] -= 1
        advance(page, 1000)
    assert clock.inner_text() == "Time left: 0:01"
    # Each second on the clock; in words only at a minute, and at 30 s.
    assert page.evaluate("__said") == ["Time left: 1 minute", "Time left: 30 seconds"]


def test_the_countdown_goes_on_while_the_network_is_away(page, live_server):
    offline = [False]
    page.route(STATUS, passing_unless(lambda: offline[0], lambda route: route.abort()))
    open_qr(page, live_server)
    before = page.locator("[data-qrauth-clock]").inner_text()
    offline[0] = True
    advance(page, 10_000)
    minutes, seconds = before.rsplit(" ", 1)[1].split(":")
    after = int(minutes) * 60 + int(seconds) - 10
    assert page.locator("[data-qrauth-clock]").inner_text() == (
        f"Time left: {after // 60}:{after % 60:02d}"
    )


def test_the_end_shows_how_it_ended_and_the_ways_on(page, live_server):
    over = [None]
    page.route(STATUS, passing_unless(lambda: over[0], lambda route: route.fulfill(json=over[0])))
    open_qr(page, live_server)
    result = page.locator("[data-qrauth-result]")
    assert result.get_attribute("data-qrauth-tone") == ""
    assert page.get_by_text("This code signs your phone in").is_visible()
    assert page.get_by_role("link", name="Go to the site").is_hidden()

    over[0] = {
        **describe(store.CONSUMED, "Safari on iOS"),
        "expires_in": 200,
        "device": "Safari on iOS",
        "frame": None,
        "show_code": False,
    }
    advance(page, 1000)
    assert message(page) == "Signed in on a phone (Safari on iOS)."
    assert result.get_attribute("data-qrauth-tone") == "success"
    assert page.locator("[data-qrauth-mark=success]").is_visible()
    assert page.locator("[data-qrauth-mark=failure]").is_hidden()
    for gone in ("This code signs your phone in", "Anyone who scans it"):
        assert page.get_by_text(gone).is_hidden()  # no words for a code that is not there
    assert page.locator("[data-qrauth-countdown]").is_hidden()
    assert canvas(page).is_hidden() and page.locator("[data-qrauth-cancel]").is_hidden()
    home = page.get_by_role("link", name="Go to the site")
    assert home.is_visible() and "qrauth-primary" in home.get_attribute("class")
    assert home.get_attribute("href") == "/"


def test_a_failure_has_its_own_look(page, live_server):
    expired = [False]
    answer = {**describe(None), "expires_in": 0, "device": "", "frame": None}
    page.route(STATUS, passing_unless(lambda: expired[0], lambda route: route.fulfill(json=answer)))
    open_qr(page, live_server)
    expired[0] = True
    advance(page, 1000)
    assert page.locator("[data-qrauth-result]").get_attribute("data-qrauth-tone") == "failure"
    assert page.locator("[data-qrauth-mark=failure]").is_visible()
    assert page.get_by_role("link", name="Go to the site").is_visible()


@pytest.fixture
def signin_page(chromium, live_server):
    """A desktop that is not signed in, its clock paused; not yet on a page."""
    context = test_browser.new_context(chromium, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.clock.install(time=START - 60)
    page.clock.pause_at(START)
    page.add_init_script(WATCH_POLLS)
    yield page
    context.close()


def test_a_code_a_phone_has_open_leaves_the_screen(signin_page, live_server):
    """The server says show_code false once a signed-in phone has the code
    open: the page takes the code away, and the words that went with it,
    and shows the number to type; the time left still counts."""
    page = signin_page
    scanned = [False]
    answer = {
        **describe(store.SCANNED, "Safari on iOS", "approve", "42"),
        "expires_in": 250,
        "device": "Safari on iOS",
        "number": "42",
        "frame": None,
        "show_code": False,
    }
    page.route(STATUS, passing_unless(lambda: scanned[0], lambda route: route.fulfill(json=answer)))
    page.goto(f"{live_server.url}/qr/signin/")
    settle(page)
    assert canvas(page).is_visible()
    scanned[0] = True
    advance(page, 1000)
    assert canvas(page).is_hidden() and page.locator(".qrauth-code").is_hidden()
    assert page.get_by_text("Your phone shows what is asking").is_hidden()
    assert page.get_by_text("The code works once").is_hidden()
    assert page.locator("[data-qrauth-number] strong").inner_text() == "42"
    assert page.locator("[data-qrauth-result]").get_attribute("data-qrauth-tone") == "info"
    assert page.locator("[data-qrauth-clock]").inner_text() == "Time left: 4:10"
    assert page.get_by_role("link", name="Get a new code").is_visible()  # the phone walked away
    assert page.get_by_role("button", name="Cancel").is_visible()


def test_the_rate_limited_page_counts_down(page, live_server, settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (1, 60)
    page.goto(f"{live_server.url}/qr/")
    response = page.goto(f"{live_server.url}/qr/")
    assert response.status == 429
    wait = int(page.locator("[data-qrauth-seconds]").get_attribute("data-qrauth-seconds"))
    clock = page.locator("[data-qrauth-clock]")
    assert clock.inner_text() == f"You can try again in {wait // 60}:{wait % 60:02d}."
    page.evaluate(RECORD_SAID)
    page.clock.run_for(1000)
    wait -= 1
    assert clock.inner_text() == f"You can try again in {wait // 60}:{wait % 60:02d}."
    page.clock.run_for(wait * 1000)
    assert clock.inner_text() == "You can try again now."
    assert page.evaluate("__said")[-1] == "You can try again now."
    assert page.get_by_role("link", name="Try again").get_attribute("href") == "/qr/"
