"""Both flows in a real browser (headless Chromium, via Playwright): a
desktop and a phone (its viewport and User-Agent), each a browser context.

What the test client cannot show: the QR code on the screen decodes, and
the phone's Continue button gets through Django's CSRF check with the
headers a browser really sends; the desktop's status changes as the phone
goes on; after a sign-in, Back shows no code that still works. Screenshots
of each step are kept in ``test-artifacts/``; with QRAUTH_UPDATE_SCREENSHOTS=1
the README's screenshots in ``docs/screenshots/`` are taken again.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from .helpers import browser_of, decode_png

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("real_redis"),
    pytest.mark.browser,
]

# Playwright's sync API runs an event loop in this thread; the test's own
# database calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IPHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    ),
}


@pytest.fixture(scope="module")
def chromium(live_server):
    # pytest-django starts its session-wide live_server before the test
    # database exists, while the NAME in tests/settings.py is still
    # ":memory:", so it hands the main thread's connection to every request
    # thread, and each request's end closes it under the others (a segfault
    # in sqlite3 now and then). From here on each request thread opens its
    # own connection to the test database file.
    live_server.thread.connections_override.clear()
    if not os.path.exists(CHROMIUM):
        message = "chromium is not installed: run scripts/ensure-tools chromium=chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def shoot(page, name: str, flow: str = "handoff") -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{flow}-{name}.png"), full_page=True)


def document(page, name: str) -> None:
    """With QRAUTH_UPDATE_SCREENSHOTS=1, the README's screenshot ``name``:
    the viewport only, one pixel per CSS pixel (small files)."""
    if os.environ.get("QRAUTH_UPDATE_SCREENSHOTS") != "1":
        return
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), scale="css")


def order_of(scan_url: str) -> str:
    """The order a scan URL is for: the first part of its token."""
    return scan_url.rstrip("/").rsplit("/", 1)[1].split(".")[0]


def new_context(browser, **options):
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)  # a page of ours that takes longer is broken
    return context


def signed_in_context(browser, user, base_url: str, **options):
    """A browser context (a desktop unless ``options`` say otherwise)
    holding a session of ``user``."""
    cookie = browser_of(user).cookies[settings.SESSION_COOKIE_NAME]
    context = new_context(browser, **{"viewport": {"width": 1280, "height": 800}, **options})
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])
    return context


def read_qr_on_screen(page) -> str:
    """Decode the QR code as the screen shows it (a screenshot, not the data)."""
    canvas = page.locator(".qrauth-code canvas")
    canvas.wait_for(state="visible")
    return decode_png(canvas.screenshot())


def next_frame(page, shown: str) -> str:
    """The first frame the page draws after ``shown`` (it changes every second)."""
    for _ in range(40):
        page.wait_for_timeout(100)  # the page's own clock: nothing to control here
        frame = read_qr_on_screen(page)
        if frame != shown:
            return frame
    raise AssertionError("the code on the screen did not change within 4 s")


def test_a_phone_signs_in_by_scanning_the_desktop_screen(chromium, live_server):
    alice = get_user_model().objects.create_user("alice", password="unused")
    desktop = signed_in_context(chromium, alice, live_server.url).new_page()
    desktop.goto(f"{live_server.url}/qr/")
    shoot(desktop, "1-desktop-qr-page")
    scan_url = next_frame(desktop, read_qr_on_screen(desktop))  # animated, drawn by the page
    assert scan_url.startswith(f"{live_server.url}/qr/")
    document(desktop, "handoff-desktop-qr")

    phone = new_context(chromium, **IPHONE).new_page()
    phone.goto(scan_url)
    phone.goto(scan_url)  # a second look (or a prefetch) leaves the code usable
    assert phone.locator("h1").inner_text() == "Sign in as alice on this device?"
    shoot(phone, "2-phone-confirm")
    document(phone, "handoff-phone-confirm")
    desktop.get_by_text("Scanned on a phone (Safari on iOS).").wait_for()
    shoot(desktop, "3-desktop-scanned")
    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url(f"{live_server.url}/")
    assert phone.locator("body").inner_text() == "home: alice"
    shoot(phone, "4-phone-signed-in")
    desktop.get_by_text("Signed in on a phone (Safari on iOS).").wait_for()
    assert desktop.locator(".qrauth-code canvas").is_hidden()  # no code left to scan
    # ... nor the words that went with it; how it ended, and a way on.
    assert desktop.get_by_text("This code signs your phone in").is_hidden()
    assert desktop.get_by_text("Anyone who scans it").is_hidden()
    assert desktop.locator("[data-qrauth-tone=success]").is_visible()
    assert desktop.get_by_role("link", name="Go to the site").is_visible()
    shoot(desktop, "5-desktop-signed-in")
    document(desktop, "handoff-desktop-signed-in")

    replay = new_context(chromium, **IPHONE).new_page()
    replay.goto(scan_url)
    assert replay.url == f"{live_server.url}/qr/invalid_code/"
    assert replay.locator("h1").inner_text() == "This code no longer works"
    shoot(replay, "6-phone-code-used")

    # Back on the phone: the confirmation page is asked for again (no page
    # of ours may be cached); its code is used up, and the phone is told it
    # is signed in (not to sign in with a password).
    back = phone.go_back()
    assert "no-store" in back.headers["cache-control"]
    assert phone.url == f"{live_server.url}/qr/continue/"
    assert phone.locator("h1").inner_text() == "You are signed in"
    assert phone.get_by_role("button", name="Continue").count() == 0
    assert phone.get_by_text("Sign in with your password").count() == 0
    shoot(phone, "7-phone-back")

    # Back to the QR page on the desktop: a new code, not the used one; and
    # the code it replaces on the next visit signs no one in.
    desktop.goto(f"{live_server.url}/")
    back = desktop.go_back()
    assert "no-store" in back.headers["cache-control"]
    replaced = read_qr_on_screen(desktop)
    assert order_of(replaced) != order_of(scan_url)
    shoot(desktop, "8-desktop-back")
    desktop.goto(f"{live_server.url}/")
    desktop.go_back()
    assert order_of(read_qr_on_screen(desktop)) not in (order_of(replaced), order_of(scan_url))
    stale = new_context(chromium, **IPHONE).new_page()
    stale.goto(replaced)
    assert stale.url == f"{live_server.url}/qr/invalid_code/"


def test_a_desktop_signs_in_by_a_phone_approving_its_screen(chromium, live_server):
    bob = get_user_model().objects.create_user("bob", password="unused")
    desktop = new_context(chromium, viewport={"width": 1280, "height": 800}).new_page()
    desktop.goto(f"{live_server.url}/qr/signin/")
    shoot(desktop, "1-desktop-qr", "approve")
    scan_url = read_qr_on_screen(desktop)
    assert scan_url.startswith(f"{live_server.url}/qr/approve/")
    assert desktop.get_by_role("button", name="Continue").is_hidden()  # the script sends it
    later = next_frame(desktop, scan_url)  # animated here too; the earlier frame still works
    assert later.startswith(f"{live_server.url}/qr/approve/")
    assert order_of(later) == order_of(scan_url)

    phone = signed_in_context(chromium, bob, live_server.url, **IPHONE).new_page()
    phone.goto(scan_url)
    assert phone.locator("h1").inner_text() == (
        f"Sign in to {urlsplit(live_server.url).netloc} on another screen?"
    )
    assert "Chrome on Linux" in phone.locator(".qrauth-details").inner_text()
    shoot(phone, "2-phone-details", "approve")
    number = desktop.locator("[data-qrauth-number] strong")
    number.wait_for(state="visible")
    desktop.get_by_text("Type the number").wait_for()
    # The phone has the code open: the screen no longer shows it, so a
    # second person cannot scan it over the shoulder (as BankID does).
    assert desktop.locator(".qrauth-code").is_hidden()
    assert desktop.get_by_text("Your phone shows what is asking").is_hidden()
    assert desktop.locator("[data-qrauth-countdown]").is_visible()
    shoot(desktop, "3-desktop-number", "approve")
    document(desktop, "approve-desktop-number")

    field = phone.get_by_label("Number shown on the other screen")
    field.fill(number.inner_text())
    document(phone, "approve-phone")
    # Two digits, asked for in the page's words, not the browser's.
    field.fill(number.inner_text()[0])
    phone.get_by_role("button", name="Approve").click()
    assert field.evaluate("node => node.validationMessage") == (
        "Type the two-digit number shown on the other screen."
    )
    assert phone.url == f"{live_server.url}/qr/approve/"  # nothing sent, nothing denied
    field.fill(number.inner_text())
    phone.get_by_role("button", name="Approve").click()
    phone.get_by_text("The other screen is signing in now").wait_for()
    assert phone.locator("h1").inner_text() == "Approved"
    assert phone.get_by_role("link", name="Go to the site").is_visible()
    shoot(phone, "4-phone-approved", "approve")
    document(phone, "approve-phone-approved")

    # The desktop names the account before it becomes it: one click more.
    continue_as = desktop.get_by_role("button", name="Continue as bob")
    continue_as.wait_for()
    assert desktop.locator("h1").inner_text() == "Continue as bob?"
    shoot(desktop, "5-desktop-continue-as", "approve")
    continue_as.click()
    desktop.wait_for_url(f"{live_server.url}/")
    assert desktop.locator("body").inner_text() == "home: bob"
    shoot(desktop, "6-desktop-signed-in", "approve")

    # Back on the desktop, past "Continue as bob?" (the answer to a POST,
    # which the browser would offer to send again): the sign-in page is
    # asked for again and, this browser being signed in now, shows no code
    # but sends it on.
    with desktop.expect_response(f"{live_server.url}/qr/signin/") as again:
        desktop.evaluate("history.go(-2)")
    assert again.value.status == 302
    assert "no-store" in again.value.headers["cache-control"]
    desktop.wait_for_url(f"{live_server.url}/")
    assert desktop.locator("body").inner_text() == "home: bob"
    shoot(desktop, "7-desktop-back", "approve")

    # Back on the phone: the approval page again, now saying it is done,
    # with no Approve button; another phone gets nothing from the code.
    back = phone.go_back()
    assert "no-store" in back.headers["cache-control"]
    assert phone.locator("h1").inner_text() == "Approved"
    assert phone.get_by_text("The other screen is signed in.").is_visible()
    assert phone.get_by_role("button", name="Approve").count() == 0
    shoot(phone, "7-phone-back", "approve")
    alice = get_user_model().objects.create_user("alice", password="unused")
    other = signed_in_context(chromium, alice, live_server.url, **IPHONE).new_page()
    other.goto(later)
    assert other.get_by_text("This sign-in was already handled on another device").is_visible()
    assert other.get_by_role("button", name="Approve").count() == 0


def test_the_sign_in_page_gets_a_new_code_and_cancels(chromium, live_server):
    """The approve flow's "Get a new code" and Cancel (the hand-off page's
    are in tests/test_page_js.py): each leaves the code before it useless."""
    bob = get_user_model().objects.create_user("bob", password="unused")
    desktop = new_context(chromium, viewport={"width": 1280, "height": 800}).new_page()
    desktop.goto(f"{live_server.url}/qr/signin/")
    first = read_qr_on_screen(desktop)
    with desktop.expect_navigation():
        desktop.get_by_role("link", name="Get a new code").click()
    second = read_qr_on_screen(desktop)
    assert order_of(second) != order_of(first)
    shoot(desktop, "1-desktop-new-code", "approve-again")

    phone = signed_in_context(chromium, bob, live_server.url, **IPHONE).new_page()
    phone.goto(first)
    assert phone.url == f"{live_server.url}/qr/invalid_code/"
    desktop.get_by_role("button", name="Cancel").click()
    desktop.wait_for_url(f"{live_server.url}{settings.LOGIN_URL}")
    phone.goto(second)
    assert phone.url == f"{live_server.url}/qr/invalid_code/"
    shoot(phone, "2-phone-cancelled-code", "approve-again")


# -- a code that never came ------------------------------------------------------------

MISSING = ".qrauth-code-missing"


@pytest.mark.parametrize("flow", ["handoff", "approve"])
def test_without_static_files_the_code_box_says_what_is_wrong(chromium, live_server, flow):
    """No collectstatic, a wrong STATIC_URL: no script, no style. The box
    where the code goes says so at once, in plain HTML, instead of staying
    empty under "Scan the code"."""
    alice = get_user_model().objects.create_user("alice", password="unused")
    context = (
        signed_in_context(chromium, alice, live_server.url)
        if flow == "handoff"
        else new_context(chromium, viewport={"width": 1280, "height": 800})
    )
    context.route("**/static/**", lambda route: route.fulfill(status=404, body="not found"))
    page = context.new_page()
    page.goto(f"{live_server.url}{'/qr/' if flow == 'handoff' else '/qr/signin/'}")
    sentence = page.locator(MISSING)
    sentence.wait_for(state="visible", timeout=1000)  # at once: no style delays it
    assert "The code did not load. Reload the page." in sentence.inner_text()
    assert "collectstatic" in sentence.inner_text() and "STATIC_URL" in sentence.inner_text()
    assert page.locator(".qrauth-code canvas").is_hidden()
    shoot(page, "no-static-files", flow)
    context.close()


@pytest.mark.parametrize("flow", ["handoff", "approve"])
def test_with_the_style_but_not_the_script_the_sentence_waits_then_shows(
    chromium, live_server, flow
):
    """The script failed (blocked, a 404) but qrauth.css loaded: the
    sentence stays out of sight for its first seconds, then shows."""
    alice = get_user_model().objects.create_user("alice", password="unused")
    context = (
        signed_in_context(chromium, alice, live_server.url)
        if flow == "handoff"
        else new_context(chromium, viewport={"width": 1280, "height": 800})
    )
    context.route("**/static/qrauth/*.js", lambda route: route.fulfill(status=404, body=""))
    page = context.new_page()
    page.goto(f"{live_server.url}{'/qr/' if flow == 'handoff' else '/qr/signin/'}")
    sentence = page.locator(MISSING)
    assert sentence.is_hidden()  # in the page, out of sight for now
    sentence.wait_for(state="visible", timeout=30_000)  # after 8 s; a loaded machine
    shoot(page, "no-script", flow)
    context.close()


@pytest.mark.parametrize("flow", ["handoff", "approve"])
def test_a_slow_script_never_shows_the_sentence(chromium, live_server, flow):
    """A script that takes a second and more to come (a slow network): the
    box stays quiet until the code is drawn; the sentence is never seen."""
    alice = get_user_model().objects.create_user("alice", password="unused")
    context = (
        signed_in_context(chromium, alice, live_server.url)
        if flow == "handoff"
        else new_context(chromium, viewport={"width": 1280, "height": 800})
    )
    # Looked at before each frame the browser paints (none before the
    # style sheet is in: it blocks rendering).
    context.add_init_script(
        """window.__missingSeen = false;
        const look = () => {
          const sentence = document.querySelector(".qrauth-code-missing");
          if (sentence && sentence.checkVisibility({ visibilityProperty: true })) {
            window.__missingSeen = true;
          }
          requestAnimationFrame(look);
        };
        requestAnimationFrame(look);"""
    )

    def slowly(route):
        time.sleep(1.5)  # the browser goes on parsing and painting meanwhile
        route.continue_()

    context.route("**/static/qrauth/page.js", slowly)
    page = context.new_page()
    page.goto(f"{live_server.url}{'/qr/' if flow == 'handoff' else '/qr/signin/'}")
    read_qr_on_screen(page)
    page.wait_for_timeout(3500)  # and past the style's delay
    assert page.locator(MISSING).is_hidden()
    assert page.evaluate("window.__missingSeen") is False
    context.close()


SITE_BASE = """{% load static %}<!DOCTYPE html>
<html><head><title>{% block title %}{% endblock %}</title>
<link rel="stylesheet" href="{% static "qrauth/qrauth.css" %}">{% block extra_head %}{% endblock %}
</head><body><div id="the-sites-layout">{% block content %}{% endblock %}</div></body></html>"""

ANY_HIDDEN_SHOWN = """() => [...document.querySelectorAll("[hidden]")]
    .filter((element) => element.checkVisibility())
    .map((element) => element.outerHTML.slice(0, 80))"""


def test_hidden_stays_hidden_in_the_sites_own_layout(chromium, live_server, settings, tmp_path):
    """The documented override: a qrauth/base.html of the site's own, which
    loads qrauth.css but has none of qrauth's wrapper: what page.js hides
    (a finished code, a code a phone has open) must not show all the same."""
    (tmp_path / "qrauth").mkdir()
    (tmp_path / "qrauth" / "base.html").write_text(SITE_BASE)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    alice = get_user_model().objects.create_user("alice", password="unused")
    context = signed_in_context(chromium, alice, live_server.url)
    page = context.new_page()
    page.goto(f"{live_server.url}/qr/")
    assert page.locator("#the-sites-layout").is_visible()
    read_qr_on_screen(page)
    assert page.evaluate(ANY_HIDDEN_SHOWN) == []  # "Go to the site", the marks...
    other = context.new_page()
    other.goto(f"{live_server.url}/qr/")  # a newer code: this page's code is over
    page.locator(".qrauth-code").wait_for(state="hidden", timeout=30_000)
    assert page.evaluate(ANY_HIDDEN_SHOWN) == []
    context.close()
