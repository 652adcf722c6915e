"""A site built for django-qrauth 0.1.x switches by following the README's
migration section only: its templates and AUTH_QR_CODE_* settings stay."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from qrauth import store

from .helpers import decode_png

pytestmark = pytest.mark.django_db

OLD_TEMPLATES = Path(__file__).parent / "templates_01x"


@pytest.fixture
def old_site(settings, redis_server):
    """The 0.1.x settings, verbatim, and the 0.1.x README's templates."""
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [OLD_TEMPLATES]}]
    settings.AUTH_QR_CODE_EXPIRATION_TIME = 120
    settings.AUTH_QR_CODE_REDIRECT_URL = "/profile/"
    settings.AUTH_QR_CODE_REDIS_KWARGS = {"host": "127.0.0.1", "port": redis_server.port, "db": 1}
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = None
    yield
    store.get_redis().flushdb()
    store.reset_client()


def test_old_templates_and_settings_keep_working(old_site, desktop, phone):
    page = desktop.get(reverse("qr_code_page"))
    html = page.content.decode()
    assert '<div id="old-site">' in html and "Authentication QR code" in html
    image_url = re.search(r'<img src="([^"]+)" alt="QR">', html).group(1)
    scan_url = decode_png(desktop.get(image_url).content)
    path = urlsplit(scan_url).path

    assert phone.get(path, follow=True).status_code == 200
    response = phone.post(path)
    assert response["Location"] == "/profile/"
    assert phone.session[SESSION_KEY]

    invalid = phone.get(path, follow=True)
    assert invalid.redirect_chain == [(reverse("invalid_auth_code"), 302)]
    assert "The QR code you are using for authentication is invalid" in invalid.content.decode()
    assert '<div id="old-site">' in invalid.content.decode()


def test_redis_kwargs_reach_redis(old_site, desktop):
    auth_code = desktop.get(reverse("qr_code_page")).context["auth_code"]
    client = store.get_redis()
    assert client.connection_pool.connection_kwargs["db"] == 1
    assert 118 <= client.ttl(store.order_key(auth_code)) <= 120


def test_url_names_and_paths_of_01x():
    assert reverse("qr_code_page") == "/qr/"
    assert reverse("auth_qr_code", args=["abc"]) == "/qr/pic/abc/"
    assert reverse("invalid_auth_code") == "/qr/invalid_code/"
    assert reverse("qr_code_login", args=["abc"]) == "/qr/abc/"


def test_new_pages_render_in_the_old_layout_when_asked(old_site, settings, desktop, phone):
    """The optional step of the migration section: a one-line qrauth/base.html."""
    layout = Path(__file__).parent / "templates_01x_layout"
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [layout, OLD_TEMPLATES]}]
    page = desktop.get(reverse("qr_code_page")).content.decode()
    image_url = re.search(r'<img src="([^"]+)" alt="QR">', page).group(1)
    path = urlsplit(decode_png(desktop.get(image_url).content)).path
    confirm = phone.get(path, follow=True).content.decode()
    assert '<div id="old-site">' in confirm
    assert "Sign in as alice on this device?" in confirm
