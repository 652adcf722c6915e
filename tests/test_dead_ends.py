"""Every page that ends a flow has a way on (issue 15): a link back to the
site, a new code, or a wait that counts down, and its own look for success,
failure or a warning (``data-qrauth-tone``)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from qrauth import tokens

from .helpers import browser_of, decode_png, hand_clock, open_qr_page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

QR_PAGE = reverse("qr_code_page")


def nobody(request, user, flow) -> bool:
    return False


def test_the_rate_limited_page_counts_down_and_offers_a_way_on(desktop, settings):
    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (1, 60)
    settings.AUTH_QR_CODE_REDIRECT_URL = "/welcome/"
    open_qr_page(desktop)
    response = desktop.get(QR_PAGE)
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    html = response.content.decode()
    assert f'data-qrauth-seconds="{wait}"' in html  # countdown.js counts it down
    assert 'data-qrauth-countdown="You can try again in {time}."' in html
    assert 'data-qrauth-done="You can try again now."' in html
    assert "qrauth/countdown.js" in html
    assert f'class="qrauth-button" href="{QR_PAGE}">Try again</a>' in html
    # Trying again now meets this page again: the site is the way on.
    assert 'class="qrauth-button qrauth-primary" href="/welcome/">Go to the site</a>' in html
    assert 'data-qrauth-tone="warning"' in html


def test_a_refused_post_offers_no_try_again_link(settings, phone):
    settings.AUTH_QR_CODE_SCAN_FAILURES_PER_IP = (1, 60)
    garbage = reverse("qr_code_login", args=["not-a-code"])
    phone.post(garbage)
    response = phone.post(garbage)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Try again</a>" not in html  # a POST is not to be sent again by a link
    assert 'href="/">Go to the site</a>' in html


def test_the_stale_code_page_offers_a_way_on(desktop, phone, monkeypatch):
    clock = hand_clock(monkeypatch, "now", 1_800_000_000)
    auth_code = open_qr_page(desktop)
    path = reverse("qr_code_login", args=[tokens.frame_token(auth_code, 0)])
    clock.now += 60
    response = phone.get(path)
    html = response.content.decode()
    assert "The code on the screen has changed" in html
    assert 'href="/">Go to the site</a>' in html
    assert 'data-qrauth-tone="warning"' in html


def test_the_unavailable_page_offers_a_way_on(own_server, desktop):
    own_server.stop()
    response = desktop.get(QR_PAGE)
    assert response.status_code == 503
    html = response.content.decode()
    assert f'href="{QR_PAGE}">Try again</a>' in html
    assert 'href="/">Go to the site</a>' in html


def test_a_scan_urls_refusal_never_writes_its_token_into_the_page(own_server, desktop, phone):
    """The token is in the address bar already; a Try again link would put
    it in the page, where scripts and extensions read it."""
    path = urlsplit(
        decode_png(desktop.get(reverse("auth_qr_code", args=[open_qr_page(desktop)])).content)
    ).path
    token = path.strip("/").rsplit("/", 1)[-1]
    own_server.stop()
    response = phone.get(path)
    assert response.status_code == 503
    html = response.content.decode()
    assert token not in html and token.split(".")[-1] not in html
    assert "Try again</a>" not in html


def test_a_landing_that_names_no_url_leaves_the_pages_working(desktop, settings):
    """A bad AUTH_QR_CODE_REDIRECT_URL is check W003's to report: the pages
    that link to it still open, and link to "/"."""
    settings.AUTH_QR_CODE_REDIRECT_URL = "no-such-view"
    response = desktop.get(QR_PAGE)
    assert response.status_code == 200
    assert 'href="/" data-qrauth-when-over' in response.content.decode()
    assert Client().get(reverse("qrauth_signin")).status_code == 200
    assert Client().get(reverse("invalid_auth_code")).status_code == 200


def test_the_unavailable_page_offers_an_anonymous_visitor_the_password(own_server):
    own_server.stop()
    response = Client().get(reverse("qrauth_signin"))
    assert response.status_code == 503
    assert 'href="/accounts/login/">Sign in with your password</a>' in response.content.decode()


def test_the_not_allowed_page_offers_a_way_on(desktop, settings):
    settings.AUTH_QR_CODE_USER_POLICY = f"{__name__}.nobody"
    response = desktop.get(QR_PAGE)
    assert response.status_code == 403
    assert 'href="/">Go to the site</a>' in response.content.decode()


def test_the_invalid_page_offers_an_anonymous_visitor_the_password(phone):
    html = phone.get(reverse("invalid_auth_code")).content.decode()
    assert 'href="/accounts/login/">Sign in with your password</a>' in html
    assert 'data-qrauth-tone="failure"' in html


def test_the_desktops_answer_pages_have_a_way_on(desktop, phone, settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    auth_code = open_qr_page(desktop)
    picture = desktop.get(reverse("auth_qr_code", args=[auth_code]))
    path = urlsplit(decode_png(picture.content)).path
    phone.get(path, follow=True)
    wait = phone.post(reverse("qrauth_continue"), {"action": "continue"})
    assert wait.status_code == 200
    assert "qrauth/handoff_wait.html" in [t.name for t in wait.templates]
    assert 'href="/">Go to the site</a>' in wait.content.decode()
    decided = desktop.post(reverse("qrauth_handoff_decide", args=[auth_code]), {"action": "deny"})
    html = decided.content.decode()
    assert 'data-qrauth-tone="failure"' in html
    assert "Get a new code</a>" in html and 'href="/">Go to the site</a>' in html


def test_the_qr_pages_name_where_to_go_once_they_are_over(alice, settings):
    settings.AUTH_QR_CODE_REDIRECT_URL = "/welcome/"
    html = browser_of(alice).get(QR_PAGE).content.decode()
    assert 'href="/welcome/" data-qrauth-when-over hidden>Go to the site</a>' in html
    html = Client().get(reverse("qrauth_signin")).content.decode()
    assert (
        'href="/accounts/login/" data-qrauth-when-over hidden>Sign in with your password</a>'
        in html
    )
