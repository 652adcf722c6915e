"""Configuration that leaks or breaks silently: QR codes that point at a
domain the site does not serve (the Site still at example.com), and
qrauth.urls included without the app."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from qrauth.checks import E007

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

SERVED = ["www.mysite.example", ".shop.example"]


def qrauth_messages() -> list:
    return run_checks(tags=["qrauth"])


@pytest.fixture
def sites(settings):
    """django.contrib.sites installed with a SITE_ID, on a site that serves
    SERVED; the Site model, whose table is not made yet."""
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.contrib.sites"]
    settings.SITE_ID = 1
    settings.ALLOWED_HOSTS = SERVED
    from django.contrib.sites.models import Site

    Site.objects.clear_cache()
    yield Site
    Site.objects.clear_cache()


@pytest.fixture
def site(sites):
    """The current Site, as a fresh install leaves it: example.com.
    (This suite's database was made without its table: made here, and
    rolled back with the test.)"""
    sql, params = connection.schema_editor().table_sql(sites)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return sites.objects.create(pk=1, domain="example.com", name="example.com")


def test_a_site_still_at_example_com_is_an_error(site):
    [message] = qrauth_messages()
    assert message.id == "qrauth.E007"
    assert message.msg == E007[0].format(domain="example.com")
    assert "AUTH_QR_CODE_BASE_URL" in message.hint and "Site" in message.hint


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("www.mysite.example", []),
        ("www.mysite.example:8443", []),
        ("cart.shop.example", []),
        ("mysite.example", ["qrauth.E007"]),
        ("https://www.mysite.example", ["qrauth.E007"]),  # a URL is no domain
    ],
)
def test_the_domain_must_be_one_the_site_serves(site, domain, expected):
    site.domain = domain
    site.save()
    assert [message.id for message in qrauth_messages()] == expected


def test_debug_without_allowed_hosts_serves_localhost(site, settings):
    settings.DEBUG, settings.ALLOWED_HOSTS = True, []
    site.domain = "localhost:8000"
    site.save()
    assert qrauth_messages() == []


def test_a_base_url_makes_the_site_domain_unused(site, settings):
    settings.AUTH_QR_CODE_BASE_URL = "https://www.mysite.example"
    assert qrauth_messages() == []


def test_without_a_site_id_the_requests_host_is_used(site, settings):
    del settings.SITE_ID
    assert qrauth_messages() == []


def test_before_migrate_there_is_nothing_to_say(sites):
    assert qrauth_messages() == []


# -- qrauth.urls without the app -----------------------------------------------------


def fresh_copy(name: str) -> ModuleType:
    """Run module ``name`` anew; the imported one stays as it is."""
    spec = importlib.util.find_spec(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_urls_refuse_to_load_without_the_app(settings):
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "qrauth"]
    with pytest.raises(ImproperlyConfigured, match='add "qrauth" to INSTALLED_APPS'):
        fresh_copy("qrauth.urls")


def test_the_urls_load_with_the_app():
    assert fresh_copy("qrauth.urls").urlpatterns


def test_a_crypto_library_that_cannot_seal_is_an_error(monkeypatch):
    """A cryptography built against an OpenSSL without AES-GCM (or broken):
    the check says so at start-up rather than every hand-off page failing.
    A stand-in: such a library cannot be installed here."""
    from cryptography.exceptions import UnsupportedAlgorithm

    from qrauth import sealing

    class NoAesGcm:
        def __init__(self, key: bytes) -> None:
            raise UnsupportedAlgorithm("AES-GCM is not supported by this backend")

    assert "qrauth.E008" not in [message.id for message in qrauth_messages()]
    monkeypatch.setattr(sealing, "AESGCM", NoAesGcm)
    [message] = [m for m in qrauth_messages() if m.id == "qrauth.E008"]
    assert "UnsupportedAlgorithm" in message.msg and "cryptography" in message.hint
