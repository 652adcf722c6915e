"""Accessibility of every page a person sees, in headless Chromium.

axe-core (from npm, installed by scripts/ensure-axe into .cache/axe) checks
each page against WCAG 2.0, 2.1 and 2.2 A and AA, in the light and the dark
colour scheme; text contrast is among its rules. Beyond what axe sees: the
flows work with the keyboard alone, focus is visible and contrasts with the
page, the status changes reach the accessibility tree as a polite live
region, once each, the QR code keeps a white quiet zone on a dark page, and
the pages reflow at 320 CSS px. Screenshots go to test-artifacts/a11y-*.

Outside CI, a missing Chromium or axe-core skips these tests, saying what to
run; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import io
import math
import os
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
from PIL import Image

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

AXE = Path(__file__).resolve().parent.parent / ".cache/axe/node_modules/axe-core/axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA: the rules of each level that axe
# can decide on its own.
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCHEMES = ["light", "dark"]
PHONE = test_browser.IPHONE
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
HANDOFF_CODE = "QR code that signs your phone in to this account"
APPROVE_CODE = "QR code to scan with a phone on which you are signed in"
QUIET_ZONE = 4  # modules of white around a QR code, as ISO/IEC 18004 asks


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        message = f"axe-core is not installed ({AXE} is missing): run scripts/ensure-axe"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(params=SCHEMES)
def scheme(request) -> str:
    return request.param


@pytest.fixture
def browsers(chromium, live_server, scheme):
    """Opens pages in new browser contexts of ``scheme``: ``browsers(user)``
    is a desktop (signed in as ``user``, if given), ``browsers(user,
    **PHONE)`` a phone. Every context is closed after the test."""
    contexts = []

    def open_page(user=None, **options):
        options = {**DESKTOP, **options, "color_scheme": scheme}
        if user is None:
            context = test_browser.new_context(chromium, **options)
        else:
            context = test_browser.signed_in_context(chromium, user, live_server.url, **options)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def check(axe_source, scheme):
    """``check(page, name)``: axe finds no WCAG A/AA violation on the page as
    it is now, but those of the rules ``allowed`` names; a screenshot of it
    goes to test-artifacts/."""

    def run(page, name: str, allowed: frozenset[str] = frozenset()) -> None:
        test_browser.shoot(page, name, f"a11y-{scheme}")
        found = [line for line in violations(page, axe_source) if line.split()[1] not in allowed]
        assert found == [], f"{name} ({scheme})"

    return run


# WCAG 2.2.1's essential exception: without JavaScript the approve page
# reloads itself every few seconds for a fresh code (a code that lived
# longer is what a phishing attacker sends a victim). Only while the code
# waits for a phone: no form on it needs filling in, and once approved the
# page stops reloading (test_no_js_approve_page_stops_reloading_when_done).
NO_JS_APPROVE_ALLOWED = frozenset({"meta-refresh"})


def violations(page, axe_source: str) -> list[str]:
    """What axe finds against WCAG A and AA on the page: its violations, and
    what it could not decide (say, a text's contrast over a picture), which a
    page of ours must not leave open either."""
    # Evaluated, not a <script>: it also runs on a page that had scripts off.
    page.evaluate("source => { if (!window.axe) (0, eval)(source); }", axe_source)
    results = page.evaluate(
        """tags => axe.run(document, {
            runOnly: { type: "tag", values: tags },
            resultTypes: ["violations", "incomplete"],
        })""",
        WCAG,
    )
    return [
        f"{kind} {rule['id']} ({rule['impact']}) at {node['target']}: {node['failureSummary']}"
        for kind in ("violations", "incomplete")
        for rule in results[kind]
        for node in rule["nodes"]
    ]


def status(page) -> dict:
    """The answer of the page's status endpoint now, as its script gets it."""
    url = page.locator("[data-qrauth-status]").get_attribute("data-qrauth-status")
    response = page.request.get(urljoin(page.url, url))
    assert response.ok, response.status
    return response.json()


def wait_for_code(page) -> None:
    page.locator(".qrauth-code canvas").wait_for(state="visible")


def nobody(request, user, flow) -> bool:
    """AUTH_QR_CODE_USER_POLICY of test_not_allowed_page: no account may."""
    return False


# -- axe on every page --------------------------------------------------------------


def test_hand_off_pages(browsers, check, alice, live_server):
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    wait_for_code(desktop)
    check(desktop, "handoff-desktop-code")

    phone = browsers(**PHONE)
    scan_url = status(desktop)["frame"]
    phone.goto(scan_url)
    check(phone, "handoff-phone-confirm")
    desktop.get_by_text("Scanned on a phone").wait_for()
    check(desktop, "handoff-desktop-scanned")

    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url(f"{live_server.url}/")
    desktop.get_by_text("Signed in on a phone").wait_for()
    check(desktop, "handoff-desktop-signed-in")

    phone.go_back()  # to the question it answered
    phone.get_by_role("heading", name="You are signed in").wait_for()
    check(phone, "handoff-phone-already-signed-in")

    phone.goto(scan_url)  # used up
    assert phone.url == f"{live_server.url}/qr/invalid_code/"
    check(phone, "handoff-phone-invalid-code")

    desktop.goto(f"{live_server.url}/qr/")
    wait_for_code(desktop)
    own = desktop.context.new_page()  # the desktop opens its own code
    own.goto(status(desktop)["frame"])
    own.get_by_role("heading", name="This code is for your phone").wait_for()
    check(own, "handoff-own-code")


def test_approve_pages(browsers, check, bob, live_server):
    desktop = browsers()
    desktop.goto(f"{live_server.url}/qr/signin/")
    wait_for_code(desktop)
    check(desktop, "approve-desktop-code")

    phone = browsers(bob, **PHONE)
    phone.goto(status(desktop)["frame"])
    number = desktop.locator("[data-qrauth-number] strong")
    number.wait_for(state="visible")
    check(phone, "approve-phone-details")
    check(desktop, "approve-desktop-number")

    phone.get_by_label("Number shown on the other screen").fill(number.inner_text())
    phone.get_by_role("button", name="Approve").click()
    phone.get_by_role("heading", name="Approved").wait_for()
    check(phone, "approve-phone-done")
    desktop.get_by_role("heading", name="Continue as bob?").wait_for()
    check(desktop, "approve-desktop-continue-as")
    desktop.get_by_role("button", name="Continue as bob").click()
    desktop.wait_for_url(f"{live_server.url}/")


def test_denied_and_taken_pages(browsers, check, bob, alice, live_server):
    desktop = browsers()
    desktop.goto(f"{live_server.url}/qr/signin/")
    wait_for_code(desktop)
    scan_url = status(desktop)["frame"]
    phone = browsers(bob, **PHONE)
    phone.goto(scan_url)
    phone.get_by_role("button", name="Deny").click()
    phone.get_by_role("heading", name="Denied").wait_for()
    check(phone, "approve-phone-denied")
    desktop.get_by_text("The sign-in was denied on the phone").wait_for()
    check(desktop, "approve-desktop-denied")

    other_phone = browsers(alice, **PHONE)
    other_phone.goto(scan_url)
    other_phone.get_by_text("already handled on another device").wait_for()
    check(other_phone, "approve-phone-taken")


def test_stale_code_page(browsers, check, alice, live_server, monkeypatch):
    server_clock = hand_clock(monkeypatch, "now", 1_800_000_000)
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    wait_for_code(desktop)
    scan_url = status(desktop)["frame"]
    server_clock.now += 60  # long gone from the screen, the order still open
    phone = browsers(**PHONE)
    phone.goto(scan_url)
    assert phone.locator("h1").inner_text() == "The code on the screen has changed"
    check(phone, "stale-code")


def test_rate_limited_page(browsers, check, alice, live_server, settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (1, 60)
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    response = desktop.goto(f"{live_server.url}/qr/")
    assert response.status == 429
    desktop.locator("[data-qrauth-clock]").get_by_text("You can try again in").wait_for()
    check(desktop, "rate-limited")
    phone = browsers(**PHONE)
    phone.goto(f"{live_server.url}/qr/")  # a fresh browser: to the login page, no limit
    settings.AUTH_QR_CODE_SCAN_FAILURES_PER_IP = (1, 60)
    phone.goto(f"{live_server.url}/qr/not-a-code/")
    assert phone.goto(f"{live_server.url}/qr/not-a-code/").status == 429
    check(phone, "rate-limited-phone")


def test_unavailable_page(browsers, check, alice, live_server, own_server):
    own_server.stop()
    desktop = browsers(alice)
    response = desktop.goto(f"{live_server.url}/qr/")
    assert response.status == 503
    check(desktop, "unavailable")


def test_step_up_pages(browsers, check, alice, live_server, settings, monkeypatch):
    settings.AUTH_QR_CODE_STEP_UP_AGE = 60
    server_clock = hand_clock(monkeypatch, "now", 1_800_000_000)
    desktop = browsers(alice)  # signed in now, by the server's clock
    server_clock.now += 120
    desktop.goto(f"{live_server.url}/qr/")
    assert desktop.url.startswith(f"{live_server.url}/qr/step-up/")
    check(desktop, "step-up")
    desktop.get_by_label("Password").fill("not-the-password")
    desktop.get_by_role("button", name="Continue").click()
    desktop.get_by_role("alert").wait_for()
    check(desktop, "step-up-wrong-password")


def test_desktop_confirmation_pages(browsers, check, alice, live_server, settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    wait_for_code(desktop)
    phone = browsers(**PHONE)
    phone.goto(status(desktop)["frame"])
    phone.get_by_role("button", name="Continue").click()
    phone.get_by_text("Waiting for the other screen").wait_for()
    check(phone, "confirmation-phone-waiting")
    desktop.get_by_role("button", name="Allow").wait_for()
    check(desktop, "confirmation-desktop-asked")
    desktop.get_by_role("button", name="Allow").click()
    desktop.get_by_text("Allowed. The phone is signing in").wait_for()
    check(desktop, "confirmation-desktop-allowed")
    phone.wait_for_url(f"{live_server.url}/")


def test_the_final_states_of_the_desktops(browsers, check, alice, live_server, settings):
    """How each QR page ends, as its script shows it: expired (a failure),
    and a code the server no longer shows."""
    settings.AUTH_QR_CODE_EXPIRATION_TIME = 3
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    desktop.locator("[data-qrauth-tone=failure]").wait_for()
    check(desktop, "handoff-desktop-expired")
    signin = browsers()
    signin.goto(f"{live_server.url}/qr/signin/")
    signin.locator("[data-qrauth-tone=failure]").wait_for()
    check(signin, "approve-desktop-expired")


def test_show_code_page(browsers, check, alice, live_server):
    """A link from another site to the QR page: a button first."""
    desktop = browsers(alice)
    other_site = live_server.url.replace("localhost", "127.0.0.1")
    desktop.goto(f"{other_site}/")
    desktop.evaluate("url => { location.href = url; }", f"{live_server.url}/qr/")
    desktop.get_by_role("link", name="Show the code").wait_for()
    check(desktop, "show-code")


def test_not_allowed_page(browsers, check, alice, live_server, settings):
    settings.AUTH_QR_CODE_USER_POLICY = f"{__name__}.nobody"
    desktop = browsers(alice)
    assert desktop.goto(f"{live_server.url}/qr/").status == 403
    check(desktop, "not-allowed")


def test_pages_without_javascript(browsers, check, alice, live_server):
    """The plain image in <noscript>, and the Continue button the script
    would have pressed."""

    def load_without_scripts(page, url: str) -> None:
        # Parsed with scripts off (the <noscript> content is the page's), then
        # turned back on for axe, which waits on timers: the page's own
        # scripts, skipped while it loaded, stay skipped.
        cdp = page.context.new_cdp_session(page)
        cdp.send("Emulation.setScriptExecutionDisabled", {"value": True})
        page.goto(url)
        cdp.send("Emulation.setScriptExecutionDisabled", {"value": False})

    desktop = browsers(alice)
    load_without_scripts(desktop, f"{live_server.url}/qr/")
    code = desktop.get_by_role("img", name=HANDOFF_CODE)
    assert code.evaluate("node => node.tagName") == "IMG"
    code.wait_for()
    check(desktop, "no-js-handoff-desktop")
    signin = browsers()
    load_without_scripts(signin, f"{live_server.url}/qr/signin/")
    assert signin.get_by_role("button", name="Continue").is_visible()
    check(signin, "no-js-approve-desktop", allowed=NO_JS_APPROVE_ALLOWED)


def test_static_code_pages(browsers, check, alice, live_server, settings):
    """AUTH_QR_CODE_ANIMATED = False: a plain image, with its alt text."""
    settings.AUTH_QR_CODE_ANIMATED = False
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    code = desktop.get_by_role("img", name=HANDOFF_CODE)
    assert code.evaluate("node => node.tagName") == "IMG"
    check(desktop, "static-handoff-desktop")
    signin = browsers()
    signin.goto(f"{live_server.url}/qr/signin/")
    code = signin.get_by_role("img", name=APPROVE_CODE)
    assert code.evaluate("node => node.tagName") == "IMG"
    check(signin, "static-approve-desktop")


# -- the keyboard -------------------------------------------------------------------

# What has the focus: its accessible name (a control's label, or its text),
# whether it shows a focus indicator, and that indicator's colour and the
# colour of the page behind it (an outline sits outside the element).
FOCUSED = """() => {
  const node = document.activeElement;
  const style = getComputedStyle(node);
  let behind = "rgba(0, 0, 0, 0)";
  for (let up = node.parentElement; up; up = up.parentElement) {
    behind = getComputedStyle(up).backgroundColor;
    if (!/^rgba\\(.*, 0\\)$/.test(behind)) break;
  }
  const label = node.labels && node.labels.length ? node.labels[0].innerText : "";
  return {
    name: (label || node.getAttribute("aria-label") || node.innerText || node.tagName).trim(),
    focusVisible: node.matches(":focus-visible"),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth),
    outlineColor: style.outlineColor,
    behind: behind,
  };
}"""
CANVAS = {"light": (255, 255, 255), "dark": (18, 18, 18)}  # Chromium's, behind a bare page


def rgb(css: str, default: tuple[int, int, int]) -> tuple[int, int, int]:
    values = [float(v) for v in re.findall(r"[\d.]+", css)]
    if len(values) == 4 and values[3] == 0:
        return default
    return tuple(round(v) for v in values[:3])


def contrast(one: tuple[int, int, int], other: tuple[int, int, int]) -> float:
    """WCAG 2's contrast ratio of two sRGB colours."""

    def luminance(color):
        linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in color]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def tab(page, scheme: str, key: str = "Tab") -> str:
    """Press Tab (or Shift+Tab); the name of what then has the focus, which
    must show it: an outline of 2 px or more that contrasts 3:1 with the
    page around it (WCAG 2.1, 1.4.11 and 2.4.7)."""
    page.keyboard.press(key)
    focused = page.evaluate(FOCUSED)
    name = focused["name"]
    assert focused["focusVisible"], name
    assert focused["outlineStyle"] not in ("none", "auto"), (name, focused)
    assert focused["outlineWidth"] >= 2, (name, focused)
    outline = rgb(focused["outlineColor"], (0, 0, 0))
    ratio = contrast(outline, rgb(focused["behind"], CANVAS[scheme]))
    assert ratio >= 3, f"{name}: focus outline {focused['outlineColor']} contrasts {ratio:.2f}:1"
    return name


def tabs(page, scheme: str, count: int) -> list[str]:
    return [tab(page, scheme) for _ in range(count)]


def test_a_phone_signs_in_with_the_keyboard_alone(browsers, scheme, alice, live_server):
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    wait_for_code(desktop)
    assert tabs(desktop, scheme, 2) == ["Get a new code", "Cancel"]

    phone = browsers(**PHONE)
    phone.goto(status(desktop)["frame"])
    assert tabs(phone, scheme, 2) == ["Continue", "Cancel, this was not me"]
    assert tab(phone, scheme, "Shift+Tab") == "Continue"
    phone.keyboard.press("Enter")
    phone.wait_for_url(f"{live_server.url}/")
    assert phone.locator("body").inner_text() == "home: alice"
    desktop.get_by_text("Signed in on a phone").wait_for()


def test_a_phone_approves_with_the_keyboard_alone(browsers, scheme, bob, live_server):
    desktop = browsers()
    desktop.goto(f"{live_server.url}/qr/signin/")
    wait_for_code(desktop)
    assert tabs(desktop, scheme, 2) == ["Get a new code", "Cancel"]

    phone = browsers(bob, **PHONE)
    phone.goto(status(desktop)["frame"])
    number = desktop.locator("[data-qrauth-number] strong")
    number.wait_for(state="visible")
    assert tab(phone, scheme) == "Number shown on the other screen"
    phone.keyboard.type(number.inner_text())
    assert tabs(phone, scheme, 2) == ["Approve", "Deny"]
    assert tab(phone, scheme, "Shift+Tab") == "Approve"
    phone.keyboard.press(" ")
    phone.get_by_role("heading", name="Approved").wait_for()
    desktop.get_by_role("heading", name="Continue as bob?").wait_for()
    assert tabs(desktop, scheme, 2) == ["Continue as bob", "Cancel"]
    assert tab(desktop, scheme, "Shift+Tab") == "Continue as bob"
    desktop.keyboard.press("Enter")
    desktop.wait_for_url(f"{live_server.url}/")
    assert desktop.locator("body").inner_text() == "home: bob"


@pytest.mark.parametrize("scheme", ["light"])
def test_get_a_new_code_and_cancel_with_the_keyboard(browsers, scheme, alice, live_server):
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    wait_for_code(desktop)
    first = status(desktop)["frame"]
    assert tab(desktop, scheme) == "Get a new code"
    with desktop.expect_navigation():
        desktop.keyboard.press("Enter")
    wait_for_code(desktop)
    assert status(desktop)["frame"].split(".")[0] != first.split(".")[0]  # another order
    assert tabs(desktop, scheme, 2) == ["Get a new code", "Cancel"]
    desktop.keyboard.press(" ")
    desktop.wait_for_url(f"{live_server.url}/")
    assert desktop.locator("body").inner_text() == "home: alice"


@pytest.mark.parametrize("scheme", ["light"])
def test_the_desktop_allows_with_the_keyboard(browsers, scheme, alice, live_server, settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    wait_for_code(desktop)
    phone = browsers(**PHONE)
    phone.goto(status(desktop)["frame"])
    assert tab(phone, scheme) == "Continue"
    phone.keyboard.press("Enter")
    phone.get_by_text("Waiting for the other screen").wait_for()
    desktop.get_by_role("button", name="Allow").wait_for()
    assert tabs(desktop, scheme, 4) == ["Allow", "Deny", "Get a new code", "Cancel"]
    for _ in range(3):
        tab(desktop, scheme, "Shift+Tab")
    desktop.keyboard.press("Enter")
    desktop.get_by_text("Allowed. The phone is signing in").wait_for()
    phone.wait_for_url(f"{live_server.url}/")
    assert phone.locator("body").inner_text() == "home: alice"


@pytest.mark.parametrize("scheme", ["light"])
def test_step_up_with_the_keyboard(browsers, scheme, alice, live_server, settings, monkeypatch):
    settings.AUTH_QR_CODE_STEP_UP_AGE = 60
    server_clock = hand_clock(monkeypatch, "now", 1_800_000_000)
    desktop = browsers(alice)
    server_clock.now += 120
    desktop.goto(f"{live_server.url}/qr/")
    assert tab(desktop, scheme) == "Password"
    desktop.keyboard.type("alice-password")
    assert tab(desktop, scheme) == "Continue"
    desktop.keyboard.press("Enter")
    desktop.wait_for_url(f"{live_server.url}/qr/")
    wait_for_code(desktop)


# -- what a screen reader hears -----------------------------------------------------

# Every text the live region takes from now on, in order (a MutationObserver
# on the element the page had at load: a replaced element is not announced).
RECORD = """() => {
  const region = (window.__region = document.querySelector("[data-qrauth-message]"));
  window.__said = [];
  new MutationObserver(() => window.__said.push(region.textContent)).observe(region, {
    childList: true,
    characterData: true,
    subtree: true,
  });
}"""


def live_properties(page) -> dict:
    """The live region as Chromium's accessibility tree has it."""
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-qrauth-message]"})
    query = {"nodeId": node["nodeId"], "fetchRelatives": False}
    ax = cdp.send("Accessibility.getPartialAXTree", query)
    return {p["name"]: p["value"]["value"] for p in ax["nodes"][0].get("properties", [])}


@pytest.mark.parametrize("scheme", ["light"])
def test_the_desktop_announces_what_the_phone_does(browsers, alice, live_server):
    """A hand-off: the desktop's live region says "scanned", then "signed
    in", each once (the page polls every second; an unchanged status is not
    set again, so not read out again)."""
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    wait_for_code(desktop)
    assert live_properties(desktop).get("live") == "polite"
    desktop.evaluate(RECORD)
    phone = browsers(**PHONE)
    phone.goto(status(desktop)["frame"])
    scanned = "Scanned on a phone (Safari on iOS). Press Continue on the phone to sign in."
    desktop.get_by_text(scanned).wait_for()
    desktop.wait_for_timeout(1500)  # a poll or two with nothing new to say
    phone.get_by_role("button", name="Continue").click()
    desktop.get_by_text("Signed in on a phone (Safari on iOS).").wait_for()
    assert desktop.evaluate("__said") == [scanned, "Signed in on a phone (Safari on iOS)."]
    assert desktop.evaluate("() => __region.isConnected")
    assert live_properties(desktop).get("live") == "polite"


@pytest.mark.parametrize("scheme", ["light"])
def test_the_sign_in_page_announces_the_scan_and_the_number(browsers, bob, live_server):
    desktop = browsers()
    desktop.goto(f"{live_server.url}/qr/signin/")
    wait_for_code(desktop)
    assert live_properties(desktop).get("live") == "polite"
    desktop.evaluate(RECORD)
    phone = browsers(bob, **PHONE)
    frame = status(desktop)["frame"]
    # The scan URL alone, as a phone that has not yet followed its redirect:
    # the screen knows of a scan, not yet of the phone that asks the number.
    # (Opened in one go, a poll may or may not fall between the two steps.)
    assert phone.request.get(frame, max_redirects=0).status == 302
    scanned = (
        "Scanned on a phone (Safari on iOS). Check the details on the phone and approve the "
        "sign-in there."
    )
    desktop.get_by_text(scanned).wait_for()
    phone.goto(frame)  # its question page, vouched for by the scan's cookie
    number = desktop.locator("[data-qrauth-number] strong")
    number.wait_for(state="visible")
    desktop.get_by_text("Type the number").wait_for()
    assert desktop.evaluate("__said") == [
        scanned,
        f"Scanned on a phone (Safari on iOS). Type the number {number.inner_text()} on the "
        "phone and approve the sign-in.",
    ]


# -- the code on a dark page --------------------------------------------------------


def inside(page, locator) -> bytes:
    """A screenshot of what ``locator`` covers, whole pixels only: at a
    fractional position its element's screenshot has a row of the page too."""
    box = locator.bounding_box()
    left, top = math.ceil(box["x"]), math.ceil(box["y"])
    right, bottom = math.floor(box["x"] + box["width"]), math.floor(box["y"] + box["height"])
    clip = {"x": left, "y": top, "width": right - left, "height": bottom - top}
    return page.screenshot(clip=clip)


def quiet_zone(png: bytes) -> tuple[dict[str, int], float]:
    """The margin around the code in ``png`` (a picture of the code's
    element), in pixels on each side, and the size of a module; asserts that
    the margin is white all through."""
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    left, top, right, bottom = image.point(lambda v: 255 if v < 128 else 0).getbbox()
    margins = {
        "left": (0, 0, left, height),
        "top": (0, 0, width, top),
        "right": (right, 0, width, height),
        "bottom": (0, bottom, width, height),
    }
    for side, box in margins.items():
        assert box[0] < box[2] and box[1] < box[3], f"no white margin {side} of the code"
        assert image.crop(box).getextrema()[0] >= 250, f"the margin {side} is not white"
    # The top-left finder pattern's top edge: 7 dark modules in a row.
    run = 0
    while left + run < right and image.getpixel((left + run, top)) < 128:
        run += 1
    pixels = {"left": left, "top": top, "right": width - right, "bottom": height - bottom}
    return pixels, run / 7


@pytest.mark.parametrize("scheme", ["dark"])
@pytest.mark.parametrize("animated", [True, False], ids=["canvas", "image"])
def test_the_code_keeps_a_white_quiet_zone_on_a_dark_page(
    browsers, scheme, alice, live_server, settings, animated
):
    settings.AUTH_QR_CODE_ANIMATED = animated
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    code = desktop.get_by_role("img", name=HANDOFF_CODE)
    code.wait_for()
    code.evaluate("node => node.tagName === 'IMG' ? node.decode() : null")
    page_around = desktop.locator(".qrauth-code").screenshot()
    assert Image.open(io.BytesIO(page_around)).convert("L").getpixel((1, 1)) < 40  # dark
    assert decode_png(page_around).startswith(f"{live_server.url}/qr/")
    margins, module = quiet_zone(inside(desktop, code))
    for side, pixels in margins.items():  # less a pixel that inside() may have cut
        assert pixels + 1 >= QUIET_ZONE * module, f"{side}: {pixels} px, modules of {module} px"
    test_browser.shoot(desktop, f"code-{'canvas' if animated else 'image'}", "a11y-dark")


# -- reflow -------------------------------------------------------------------------

NARROW = {"viewport": {"width": 320, "height": 640}}  # 1280 px at 400 % zoom


def assert_no_sideways_scrolling(page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], f"{page.url}: {widths[0]} px wide in a {widths[1]} px window"
    overflowing = page.evaluate(
        """() => {
          const column = document.querySelector(".qrauth");
          const right = column.getBoundingClientRect().right -
                        parseFloat(getComputedStyle(column).paddingRight);
          return [...column.querySelectorAll("*")]
            .filter((node) => node.getBoundingClientRect().right > right + 0.5)
            .map((node) => node.outerHTML.slice(0, 60));
        }"""
    )
    assert overflowing == [], f"{page.url}: wider than the page's column"


@pytest.mark.parametrize("scheme", ["light"])
def test_the_pages_reflow_at_320_css_pixels(browsers, alice, bob, live_server):
    """WCAG 2.1, 1.4.10: at 320 CSS px (a desktop zoomed to 400 %, a small
    phone) nothing scrolls sideways, and the code still fits and reads."""
    desktop = browsers(alice, **NARROW)
    desktop.goto(f"{live_server.url}/qr/")
    wait_for_code(desktop)
    assert_no_sideways_scrolling(desktop)
    code = desktop.get_by_role("img", name=HANDOFF_CODE)
    assert decode_png(code.screenshot()).startswith(f"{live_server.url}/qr/")
    phone = browsers(**{**PHONE, **NARROW})
    phone.goto(status(desktop)["frame"])
    assert_no_sideways_scrolling(phone)

    signin = browsers(**NARROW)
    signin.goto(f"{live_server.url}/qr/signin/")
    wait_for_code(signin)
    assert_no_sideways_scrolling(signin)
    code = signin.get_by_role("img", name=APPROVE_CODE)
    assert decode_png(code.screenshot()).startswith(f"{live_server.url}/qr/approve/")
    phone = browsers(bob, **{**PHONE, **NARROW})
    phone.goto(status(signin)["frame"])
    assert_no_sideways_scrolling(phone)


def test_the_devices_page(browsers, check, scheme, alice, live_server):
    """The list, its buttons from the keyboard, the message after signing
    one out, and at 320 CSS px."""
    desktop = browsers(alice)
    desktop.goto(f"{live_server.url}/qr/")
    wait_for_code(desktop)
    phone = browsers(**PHONE)
    phone.goto(status(desktop)["frame"])
    phone.get_by_role("button", name="Continue").click()
    phone.wait_for_url(f"{live_server.url}/")

    desktop.goto(f"{live_server.url}/qr/devices/")
    desktop.get_by_role("heading", name="Safari on iOS").wait_for()
    check(desktop, "devices")
    button = desktop.get_by_role("button", name="Sign out this device")
    assert button.get_attribute("aria-describedby")  # which device: its heading
    assert tabs(desktop, scheme, 2) == ["Sign out this device", "Sign out all others"]
    assert tab(desktop, scheme, "Shift+Tab") == "Sign out this device"
    desktop.keyboard.press("Enter")
    desktop.get_by_role("status").get_by_text("finds out at its next request").wait_for()
    check(desktop, "devices-signed-out")
    phone.reload()
    assert phone.locator("body").inner_text() == "home: anonymous"

    narrow = browsers(alice, **NARROW)
    narrow.goto(f"{live_server.url}/qr/devices/")
    assert_no_sideways_scrolling(narrow)
