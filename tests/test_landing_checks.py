"""Check qrauth.W003: where people land after signing in must be a page of
the site. A site fresh from startproject has no view at "/" (the phone's
landing, AUTH_QR_CODE_REDIRECT_URL) and none at "/accounts/profile/" (the
approved desktop's, LOGIN_REDIRECT_URL): both would be a 404 right after a
successful sign-in."""

from __future__ import annotations

import sys
from types import ModuleType

import pytest
from django.core.checks import run_checks
from django.http import HttpResponse
from django.urls import clear_url_caches, include, path
from django.utils import translation

pytestmark = pytest.mark.usefixtures("qr_redis")


def landing_warnings() -> list[str]:
    return [m.msg for m in run_checks(tags=["qrauth"]) if m.id == "qrauth.W003"]


def _page(request):
    return HttpResponse("a page")


@pytest.fixture
def site_urls(settings):
    """A URLconf of this test's own: a home at /home/ and qrauth, no "/"."""
    module = ModuleType("landing_test_urls")
    module.urlpatterns = [
        path("home/", _page, name="home"),
        path("accounts/<slug:section>/", _page, name="account"),
        path("qr/", include("qrauth.urls")),
    ]
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__
    clear_url_caches()
    yield module
    clear_url_caches()
    del sys.modules[module.__name__]


def test_the_test_site_lands_on_pages_it_has():
    assert landing_warnings() == []


def test_a_fresh_startproject_site_is_warned_of_both(site_urls, settings):
    """The defaults ("/" and Django's "/accounts/profile/") on a site that
    has neither page."""
    del settings.LOGIN_REDIRECT_URL  # Django's default: /accounts/profile/
    site_urls.urlpatterns = site_urls.urlpatterns[:1] + site_urls.urlpatterns[2:]
    clear_url_caches()
    warnings = landing_warnings()
    assert len(warnings) == 2
    assert "AUTH_QR_CODE_REDIRECT_URL" in warnings[0] and "'/'" in warnings[0]
    assert "LOGIN_REDIRECT_URL" in warnings[1] and "/accounts/profile/" in warnings[1]


@pytest.mark.parametrize(
    "landing",
    [
        "home",  # a URL name
        "/home/",  # a path
        "/home",  # a path CommonMiddleware's APPEND_SLASH completes
        "/home/?welcome=1",  # with a query
        "/accounts/profile/",  # a path a pattern with a converter matches
        "https://www.example.com/",  # another site's: not ours to say
    ],
)
def test_pages_that_exist_pass(site_urls, settings, landing):
    settings.AUTH_QR_CODE_REDIRECT_URL = landing
    settings.LOGIN_REDIRECT_URL = landing
    assert landing_warnings() == []


@pytest.mark.parametrize("landing", ["/", "/nowhere/", "no-such-view"])
def test_a_landing_that_is_no_page_is_warned(site_urls, settings, landing):
    settings.AUTH_QR_CODE_REDIRECT_URL = landing
    settings.LOGIN_REDIRECT_URL = "home"
    (warning,) = landing_warnings()
    assert warning.startswith(f"AUTH_QR_CODE_REDIRECT_URL is {landing!r}")


def test_a_flow_turned_off_is_not_checked(site_urls, settings):
    settings.AUTH_QR_CODE_REDIRECT_URL = "/nowhere/"
    settings.LOGIN_REDIRECT_URL = "/nowhere/"
    settings.AUTH_QR_CODE_HANDOFF_ENABLED = False
    settings.AUTH_QR_CODE_APPROVE_ENABLED = False
    assert landing_warnings() == []


def test_the_site_link_of_approve_pages_is_checked_without_hand_off(site_urls, settings):
    """AUTH_QR_CODE_REDIRECT_URL is also every finished page's "Go to the site"."""
    settings.AUTH_QR_CODE_REDIRECT_URL = "/nowhere/"
    settings.LOGIN_REDIRECT_URL = "home"
    settings.AUTH_QR_CODE_HANDOFF_ENABLED = False
    (warning,) = landing_warnings()
    assert warning.startswith("AUTH_QR_CODE_REDIRECT_URL")


def test_a_site_under_a_script_prefix(site_urls, settings):
    """FORCE_SCRIPT_NAME: reverse() adds the prefix, the URLconf never sees it."""
    from django.urls import get_script_prefix, set_script_prefix

    before = get_script_prefix()
    set_script_prefix("/app/")  # what django.setup() does with FORCE_SCRIPT_NAME
    try:
        settings.AUTH_QR_CODE_REDIRECT_URL = "home"
        settings.LOGIN_REDIRECT_URL = "/app/accounts/profile/"
        assert landing_warnings() == []
    finally:
        set_script_prefix(before)


def test_a_missing_slash_is_added_only_where_the_site_adds_it(site_urls, settings):
    settings.AUTH_QR_CODE_REDIRECT_URL = "/home"
    settings.LOGIN_REDIRECT_URL = "home"
    settings.APPEND_SLASH = False
    (warning,) = landing_warnings()
    assert warning.startswith("AUTH_QR_CODE_REDIRECT_URL is '/home'")


def test_a_language_prefixed_site_is_understood(settings):
    """i18n_patterns: "/" is served as "/en/" (LocaleMiddleware redirects)."""
    from django.conf.urls.i18n import i18n_patterns

    module = ModuleType("landing_i18n_urls")
    module.urlpatterns = [path("qr/", include("qrauth.urls"))] + i18n_patterns(
        path("", _page, name="home")
    )
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.locale.LocaleMiddleware"]
    clear_url_caches()
    try:
        with translation.override("sv"):  # a request in another language ran last
            assert landing_warnings() == []
            settings.AUTH_QR_CODE_REDIRECT_URL = "home"  # a name, reversed as /sv/ in sv
            settings.LOGIN_REDIRECT_URL = "home"
            assert landing_warnings() == []
    finally:
        clear_url_caches()
        del sys.modules[module.__name__]
