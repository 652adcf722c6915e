"""The absolute scan URL inside the QR code."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import RequestFactory

from qrauth.links import scan_url

pytestmark = pytest.mark.django_db


def request(secure=False, host="desktop.example"):
    return RequestFactory().get("/qr/", secure=secure, HTTP_HOST=host)


def test_the_request_host_without_the_sites_framework(settings):
    settings.ALLOWED_HOSTS = ["desktop.example"]
    assert scan_url(request(), "tok") == "http://desktop.example/qr/tok/"


def test_https_when_the_request_is_secure(settings):
    settings.ALLOWED_HOSTS = ["desktop.example"]
    assert scan_url(request(secure=True), "tok") == "https://desktop.example/qr/tok/"


@pytest.mark.django_db(transaction=True)
def test_the_sites_framework_when_installed(settings):
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.contrib.sites"]
    settings.SITE_ID = 1
    settings.ALLOWED_HOSTS = ["desktop.example"]
    from django.contrib.sites.models import Site

    with connection.schema_editor() as editor:  # the suite runs without sites
        editor.create_model(Site)
    try:
        Site.objects.create(pk=1, domain="lan.example:8000", name="LAN")
        assert scan_url(request(), "tok") == "http://lan.example:8000/qr/tok/"
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Site)


@pytest.mark.parametrize("base_url", ["https://login.example", "https://login.example/"])
def test_base_url_wins(settings, base_url):
    settings.ALLOWED_HOSTS = ["desktop.example"]
    settings.AUTH_QR_CODE_BASE_URL = base_url
    assert scan_url(request(), "tok") == "https://login.example/qr/tok/"
