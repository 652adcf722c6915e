"""The pages work under a strict Content Security Policy, as the README
says: ``default-src 'self'``, no inline script, no inline style. Chromium
enforces the policy, added to every answer of the site; any violation the
page commits is caught as a ``securitypolicyviolation`` event."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model

from . import test_browser

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("real_redis"),
    pytest.mark.browser,
]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

chromium = test_browser.chromium

POLICY = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def strict(context):
    """``context`` with the policy on every answer of the site, as a site's
    own middleware or web server would send it, and violations recorded."""

    def with_policy(route):
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": POLICY}
        route.fulfill(response=response, headers=headers)

    context.route("**/*", with_policy)
    context.add_init_script(RECORD_VIOLATIONS)
    return context


def violations(page) -> list[str]:
    return page.evaluate("window.__violations")


def test_the_qr_pages_break_no_rule_of_a_strict_policy(chromium, live_server):
    alice = get_user_model().objects.create_user("alice", password="unused")
    desktop = strict(test_browser.signed_in_context(chromium, alice, live_server.url)).new_page()
    response = desktop.goto(f"{live_server.url}/qr/")
    assert response.headers["content-security-policy"] == POLICY
    # The script ran: it polled the status (a fetch) and drew its frame.
    assert test_browser.read_qr_on_screen(desktop).startswith(live_server.url)
    approve_page = strict(test_browser.new_context(chromium)).new_page()
    approve_page.goto(f"{live_server.url}/qr/signin/")
    test_browser.read_qr_on_screen(approve_page)
    assert violations(desktop) == []
    assert violations(approve_page) == []


def test_the_recorder_sees_a_violation(chromium, live_server):
    """The check above can fail: an inline script is reported."""
    page = strict(test_browser.new_context(chromium)).new_page()
    page.goto(f"{live_server.url}/qr/invalid_code/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.x = 1'; document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__violations.length > 0")
    assert violations(page)[0].startswith("script-src")


def test_the_pages_that_end_a_flow_break_no_rule_either(chromium, live_server, settings):
    """The countdown of the "Too many requests" page, the number field's own
    message on the phone, and a QR page at its end: scripts and marks of
    their own, and no inline script or style."""
    alice = get_user_model().objects.create_user("alice", password="unused")
    bob = get_user_model().objects.create_user("bob", password="unused")
    desktop = strict(test_browser.new_context(chromium)).new_page()
    desktop.goto(f"{live_server.url}/qr/signin/")
    frame = test_browser.read_qr_on_screen(desktop)
    phone = strict(
        test_browser.signed_in_context(chromium, bob, live_server.url, **test_browser.IPHONE)
    ).new_page()
    phone.goto(frame)
    field = phone.get_by_label("Number shown on the other screen")
    field.fill("1")
    phone.get_by_role("button", name="Approve").click()
    assert field.evaluate("node => node.validationMessage").startswith("Type the two-digit")
    phone.get_by_role("button", name="Deny").click()
    phone.get_by_role("heading", name="Denied").wait_for()
    desktop.locator("[data-qrauth-tone=failure]").wait_for()

    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (1, 60)
    limited = strict(test_browser.signed_in_context(chromium, alice, live_server.url)).new_page()
    limited.goto(f"{live_server.url}/qr/")
    assert limited.goto(f"{live_server.url}/qr/").status == 429
    limited.locator("[data-qrauth-clock]").get_by_text("You can try again in").wait_for()
    for page in (desktop, phone, limited):
        assert violations(page) == []
