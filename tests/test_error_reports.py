"""Error reports: a 5xx on a qrauth URL mails ADMINS what failed, never a
scan token that may still work (nor its code)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import django
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils.log import AdminEmailHandler

from qrauth import tokens
from qrauth.logs import REDACTED

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

# Django 6.0 deprecates the (name, address) pairs.
ADMINS = ["admin@example.com"] if django.VERSION >= (6,) else [("Admin", "admin@example.com")]


@dataclass
class AdminMail:
    outbox: list
    html: bool  # whether one of the handlers mails the HTML report too


@pytest.fixture(params=[False, True], ids=["text", "html"])
def admin_mail(request, settings, mailoutbox):
    """The admins' mailbox, fed by an AdminEmailHandler on "django" (so
    django.request and django.security.*), beside the text-only one that
    Django's default logging puts there."""
    settings.ADMINS = ADMINS
    handler = AdminEmailHandler(include_html=request.param)
    handler.setLevel(logging.ERROR)
    logger = logging.getLogger("django")
    logger.addHandler(handler)
    yield AdminMail(mailoutbox, request.param)
    logger.removeHandler(handler)


def live_static_token(desktop: Client) -> str:
    """A hand-off scan token that works: the desktop showed its image."""
    order_id = desktop.get(reverse("qr_code_page")).context["auth_code"]
    assert desktop.get(reverse("auth_qr_code", args=[order_id])).status_code == 200
    return tokens.scan_token(order_id)


def drop_table(table: str) -> None:
    """Every query of ``table`` fails from now on, as in a database outage
    (rolled back with the test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")


def texts_of(mail) -> list[str]:
    return [mail.subject, mail.body, *(content for content, _ in mail.alternatives)]


def assert_reported_without(admin_mail: AdminMail, token: str, failure: str) -> None:
    """Mail went out, says what failed, and holds neither the token nor its code."""
    assert admin_mail.outbox, "no error report was mailed"
    secrets = [token, token.rsplit(".", 1)[-1]]
    for mail in admin_mail.outbox:
        for text in texts_of(mail):
            assert not [secret for secret in secrets if secret in text], text
        assert failure in mail.body
    assert any(mail.alternatives for mail in admin_mail.outbox) == admin_mail.html


# What fails where: the page a GET leads to loads the code's user; Continue
# (POST) also loads the issuing desktop's session.
FAILING_TABLE = {"get": "auth_user", "post": "django_session"}


def scan_while_the_database_fails(desktop: Client, method: str) -> str:
    """A phone opens (GET, and the page it leads to) or confirms (POST) a
    live scan URL, the token also in its query, form, Referer and a cookie,
    while the table that step loads first cannot be read; return the token."""
    token = live_static_token(desktop)
    path = reverse("qr_code_login", args=[token])
    phone = Client(raise_request_exception=False)
    phone.cookies["last_scan"] = token
    drop_table(FAILING_TABLE[method])
    response = getattr(phone, method)(
        f"{path}?next={path}",
        {"next": path} if method == "post" else None,
        HTTP_REFERER=f"http://testserver{path}",
        REQUEST_URI=f"{path}?next={path}",
        RAW_URI=path,
        follow=method == "get",
    )
    assert response.status_code == 500
    return token


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_database_error_on_a_scan_url_mails_no_token(admin_mail, desktop, method):
    token = scan_while_the_database_fails(desktop, method)
    assert_reported_without(admin_mail, token, f"no such table: {FAILING_TABLE[method]}")
    [first, *_] = admin_mail.outbox
    failed = "/qr/continue/" if method == "get" else "/qr/<qrauth token>/"
    assert f"Internal Server Error: {failed}" in first.subject
    assert REDACTED in first.body  # the report still shows where


@pytest.mark.parametrize("admin_mail", [True], indirect=True, ids=["html"])
def test_a_database_error_on_a_scan_url_mails_not_the_issuing_session_key(admin_mail, desktop):
    # The traceback's variables below issuer_still_bound hold the desktop's
    # session key, unsealed (a query's parameters): as good as its cookie.
    session_key = desktop.session.session_key
    scan_while_the_database_fails(desktop, "post")
    assert admin_mail.outbox
    for mail in admin_mail.outbox:
        assert not [text for text in texts_of(mail) if session_key in text]


def test_a_database_error_while_drawing_a_code_mails_no_token(admin_mail, desktop, settings):
    # The desktop's request holds only the order id; the scan token it was
    # drawing is in the traceback's variables. Without its table, reading
    # the current Site fails.
    order_id = desktop.get(reverse("qr_code_page")).context["auth_code"]
    desktop.raise_request_exception = False
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.contrib.sites"]
    settings.SITE_ID = 1
    response = desktop.get(reverse("auth_qr_code", args=[order_id]))
    assert response.status_code == 500
    token = tokens.scan_token(order_id)
    assert_reported_without(admin_mail, token, "no such table: django_site")


def test_a_scan_url_on_a_host_not_served_mails_no_token(admin_mail, desktop):
    # Django logs a SuspiciousOperation on django.security.<its kind>, with
    # the request, at ERROR: mailed like a 500.
    token = live_static_token(desktop)
    phone = Client(raise_request_exception=False)
    response = phone.get(reverse("qr_code_login", args=[token]), HTTP_HOST="unknown.example")
    assert response.status_code == 400
    assert_reported_without(admin_mail, token, "Invalid HTTP_HOST header")
