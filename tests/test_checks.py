"""System checks: each fires on its mistake, and only then."""

from __future__ import annotations

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.checks import run_checks

from qrauth import store
from qrauth.backends import QRAuthBackend

from .redis_servers import free_port


class SiteBackend(QRAuthBackend):
    """A site's own subclass counts as the qrauth backend."""


def qrauth_ids() -> list[str]:
    return [message.id for message in run_checks(tags=["qrauth"])]


@pytest.mark.usefixtures("qr_redis")
def test_a_correct_setup_passes():
    assert qrauth_ids() == []


@pytest.mark.usefixtures("qr_redis")
@pytest.mark.parametrize(
    ("middleware", "expected"),
    [
        ("django.contrib.sessions.middleware.SessionMiddleware", ["qrauth.E001"]),
        ("django.contrib.auth.middleware.AuthenticationMiddleware", ["qrauth.E002"]),
    ],
)
def test_missing_middleware(settings, middleware, expected):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != middleware]
    assert qrauth_ids() == expected


@pytest.mark.usefixtures("qr_redis")
def test_missing_backend(settings):
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    messages = run_checks(tags=["qrauth"])
    assert [m.id for m in messages] == ["qrauth.E003"]
    assert "qrauth.backends.QRAuthBackend" in messages[0].hint


@pytest.mark.usefixtures("qr_redis")
def test_a_subclass_of_the_backend_is_enough(settings):
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.SiteBackend", "no.such.Backend"]
    assert qrauth_ids() == []


@pytest.mark.usefixtures("qr_redis")
@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("tests.test_approve.no_superusers", []),
        ("tests.test_approve.no_such_policy", ["qrauth.E006"]),
        ("tests.test_approve.IPHONE_SAFARI", ["qrauth.E006"]),  # not callable
    ],
)
def test_the_user_policy_must_import(settings, policy, expected):
    settings.AUTH_QR_CODE_USER_POLICY = policy
    messages = run_checks(tags=["qrauth"])
    assert [m.id for m in messages] == expected
    if expected:
        assert "policy(request, user, flow)" in messages[0].hint


@pytest.mark.usefixtures("qr_redis")
def test_bad_settings(settings):
    settings.AUTH_QR_CODE_EXPIRATION_TIME = "5 minutes"
    settings.AUTH_QR_CODE_BASE_URL = "example.com"
    messages = run_checks(tags=["qrauth"])
    assert [m.id for m in messages] == ["qrauth.E004", "qrauth.E004"]
    assert "AUTH_QR_CODE_EXPIRATION_TIME" in messages[0].msg
    assert "AUTH_QR_CODE_BASE_URL" in messages[1].msg


@pytest.mark.usefixtures("qr_redis")
@pytest.mark.parametrize(
    ("cache", "expected"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", ["qrauth.W001"]),
        ("django.core.cache.backends.dummy.DummyCache", ["qrauth.W001"]),
        ("django.core.cache.backends.redis.RedisCache", []),
    ],
)
def test_session_cache_shared_between_processes(settings, cache, expected):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.CACHES = {"default": {"BACKEND": cache}}
    assert qrauth_ids() == expected


class SiteSessionMiddleware(SessionMiddleware):
    """A site's own subclass of the session middleware."""


@pytest.mark.usefixtures("qr_redis")
def test_subclasses_of_the_middleware_are_enough(settings):
    session = "django.contrib.sessions.middleware.SessionMiddleware"
    settings.MIDDLEWARE = [
        f"{__name__}.SiteSessionMiddleware" if m == session else m for m in settings.MIDDLEWARE
    ]
    assert qrauth_ids() == []


@pytest.mark.parametrize(
    "redis_settings",
    [
        {"AUTH_QR_CODE_REDIS_URL": "redis://localhost:notaport/0"},
        {"AUTH_QR_CODE_REDIS_KWARGS": {"hots": "localhost"}},
        {"AUTH_QR_CODE_REDIS_CLIENT_FACTORY": "no.such.factory"},
    ],
)
def test_a_client_that_cannot_be_built_is_an_error_not_a_crash(settings, redis_settings):
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = None
    for name, value in redis_settings.items():
        setattr(settings, name, value)
    try:
        messages = run_checks(tags=["qrauth"])
    finally:
        store.reset_client()
    assert [m.id for m in messages] == ["qrauth.E005"]
    assert "AUTH_QR_CODE_REDIS" in messages[0].msg


def test_redis_unreachable_is_a_warning(settings):
    settings.AUTH_QR_CODE_REDIS_CLIENT_FACTORY = None
    settings.AUTH_QR_CODE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    try:
        messages = run_checks(tags=["qrauth"])
    finally:
        store.reset_client()
    assert [m.id for m in messages] == ["qrauth.W002"]
    assert "AUTH_QR_CODE_REDIS_URL" in messages[0].hint
