"""System checks: the mistakes that make QR sign-in fail or unsafe.

Messages and hints are data, so each can be read (and tested) on its own.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings as django_settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http.request import split_domain_port, validate_host
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, Resolver404, get_script_prefix, resolve
from django.utils import translation
from django.utils.module_loading import import_string

from .conf import setting_errors
from .model import Flow
from .policy import flow_enabled

BACKEND = "qrauth.backends.QRAuthBackend"

E001 = (
    "qrauth needs django.contrib.sessions.middleware.SessionMiddleware.",
    "Add it to MIDDLEWARE: codes are bound to the browser's session.",
)
E002 = (
    "qrauth needs django.contrib.auth.middleware.AuthenticationMiddleware.",
    "Add it to MIDDLEWARE, after SessionMiddleware.",
)
E003 = (
    f"{BACKEND} is not in AUTHENTICATION_BACKENDS: no QR code can sign anyone in.",
    f'Add "{BACKEND}" to AUTHENTICATION_BACKENDS, next to ModelBackend.',
)
E004_HINT = (
    "Fix the setting in your settings module; docs/reference/settings.rst lists every setting."
)
W001 = (
    "Sessions are kept in a cache that is not shared between processes ({backend}).",
    "The desktop and the phone reach different worker processes: use the database, "
    "cached_db, or a shared cache (Redis, Memcached) for SESSION_ENGINE.",
)
W002 = (
    "Redis is not reachable: QR pages answer 503 until it is ({error}).",
    "Check AUTH_QR_CODE_REDIS_URL, AUTH_QR_CODE_REDIS_KWARGS or "
    "AUTH_QR_CODE_REDIS_CLIENT_FACTORY, and that Redis is running.",
)

E006 = (
    "AUTH_QR_CODE_USER_POLICY cannot be imported ({error}).",
    "Point it at a callable policy(request, user, flow) -> bool, or set it to None.",
)
E009 = (
    "AUTH_QR_CODE_API_AUTHENTICATORS: {path!r} cannot be imported ({error}).",
    "List dotted paths to callables authenticator(request) -> ApiCredential | None, such as "
    "'qrauth.contrib.rest_framework.token_authentication'.",
)
E007 = (
    "QR codes point at {domain!r}, the current Site's domain, which this site does not "
    "serve (ALLOWED_HOSTS): phones would send live sign-in codes there.",
    "Set AUTH_QR_CODE_BASE_URL to this site's address (such as 'https://www.example.com'), "
    "or fix the Site's domain in the admin (Sites).",
)

_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def _lists(paths: list[str], required: type) -> bool:
    """Whether the dotted ``paths`` name ``required`` or a subclass of it."""
    for path in paths:
        try:
            listed = import_string(path)
        except ImportError:
            continue
        if isinstance(listed, type) and issubclass(listed, required):
            return True
    return False


def _middleware(**kwargs: Any) -> list[Error]:
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    middleware = django_settings.MIDDLEWARE or []
    errors = []
    if not _lists(middleware, SessionMiddleware):
        errors.append(Error(E001[0], hint=E001[1], id="qrauth.E001"))
    if not _lists(middleware, AuthenticationMiddleware):
        errors.append(Error(E002[0], hint=E002[1], id="qrauth.E002"))
    return errors


def _backend(**kwargs: Any) -> list[Error]:
    from .backends import QRAuthBackend

    if _lists(django_settings.AUTHENTICATION_BACKENDS, QRAuthBackend):
        return []
    return [Error(E003[0], hint=E003[1], id="qrauth.E003")]


def _settings(**kwargs: Any) -> list[Error]:
    return [Error(message, hint=E004_HINT, id="qrauth.E004") for message in setting_errors()]


def _user_policy(**kwargs: Any) -> list[Error]:
    path = getattr(django_settings, "AUTH_QR_CODE_USER_POLICY", None)
    if not isinstance(path, str) or not path:
        return []  # None, or E004 says what is wrong with it
    try:
        policy = import_string(path)
    except ImportError as exc:
        return [Error(E006[0].format(error=exc), hint=E006[1], id="qrauth.E006")]
    if not callable(policy):
        return [Error(E006[0].format(error="not callable"), hint=E006[1], id="qrauth.E006")]
    return []


def _api_authenticators(**kwargs: Any) -> list[Error]:
    paths = getattr(django_settings, "AUTH_QR_CODE_API_AUTHENTICATORS", ())
    if not isinstance(paths, (list, tuple)):
        return []  # E004 says what is wrong with it
    return [error for path in paths if isinstance(path, str) for error in _importable(path)]


def _importable(path: str) -> list[Error]:
    try:
        found = import_string(path)
    except ImportError as exc:
        return [Error(E009[0].format(path=path, error=exc), hint=E009[1], id="qrauth.E009")]
    if not callable(found):
        error = E009[0].format(path=path, error="not callable")
        return [Error(error, hint=E009[1], id="qrauth.E009")]
    return []


def _session_engine(**kwargs: Any) -> list[Warning]:
    if django_settings.SESSION_ENGINE != "django.contrib.sessions.backends.cache":
        return []
    alias = getattr(django_settings, "SESSION_CACHE_ALIAS", "default")
    backend = django_settings.CACHES.get(alias, {}).get("BACKEND", "")
    if backend not in _LOCAL_CACHES:
        return []
    return [Warning(W001[0].format(backend=backend), hint=W001[1], id="qrauth.W001")]


def _redis(**kwargs: Any) -> list[Warning]:
    from . import store

    if setting_errors():
        return []  # E004 already says what to fix first
    try:
        store.ping()
    except store.StoreUnavailable as exc:
        return [Warning(W002[0].format(error=exc), hint=W002[1], id="qrauth.W002")]
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint=E004_HINT, id="qrauth.E005")]
    return []


def _site_domain(**kwargs: Any) -> list[Error]:
    base_url = getattr(django_settings, "AUTH_QR_CODE_BASE_URL", None)  # a bad one is E004's
    site_id = getattr(django_settings, "SITE_ID", None)  # None: the request's host is used
    if base_url or site_id is None or not apps.is_installed("django.contrib.sites"):
        return []
    from django.contrib.sites.models import Site

    try:
        domain = Site.objects.get_current().domain
    except (DatabaseError, Site.DoesNotExist):  # before migrate: nothing to say yet
        return []
    if _serves(domain):
        return []
    return [Error(E007[0].format(domain=domain), hint=E007[1], id="qrauth.E007")]


E008 = (
    "qrauth cannot seal a value with AES-GCM here ({error}): no hand-off code page can open.",
    "Install a cryptography release with its own OpenSSL (pip install 'cryptography>=42'), "
    "or one built against an OpenSSL that offers AES-GCM.",
)


def _sealing(**kwargs: Any) -> list[Error]:
    from . import sealing

    try:
        works = sealing.unseal("qrauth.check", sealing.seal("qrauth.check", "x")) == "x"
    except Exception as exc:  # whatever the crypto library raises: say it
        return [
            Error(
                E008[0].format(error=f"{type(exc).__name__}: {exc}"), hint=E008[1], id="qrauth.E008"
            )
        ]
    if works:
        return []
    return [
        Error(E008[0].format(error="a sealed value did not open"), hint=E008[1], id="qrauth.E008")
    ]


W003 = (
    "{setting} is {value!r}, which is no page of this site: after signing in with a QR "
    "code ({who}), people would land on a 404.",
    "Set it to the name or the path of a view that exists, such as "
    'LOGIN_REDIRECT_URL = "/" with a view at "/".',
)

# Where people land once signed in: (setting, Django's default, the flows
# that send people there, who lands). AUTH_QR_CODE_REDIRECT_URL is also the
# "Go to the site" of every page that ends a flow, approve's included.
_LANDINGS = (
    ("AUTH_QR_CODE_REDIRECT_URL", "/", (Flow.HANDOFF, Flow.APPROVE), "the phone, hand-off"),
    ("LOGIN_REDIRECT_URL", "/accounts/profile/", (Flow.APPROVE,), "the computer, approve"),
)


def _landing_pages(**kwargs: Any) -> list[Warning]:
    if setting_errors():  # a bad value is E004's to report
        return []
    warnings = []
    for setting, default, flows, who in _LANDINGS:
        value = getattr(django_settings, setting, default)
        used = any(flow_enabled(flow.value) for flow in flows)
        if used and not _is_a_page(value):
            message = W003[0].format(setting=setting, value=value, who=who)
            warnings.append(Warning(message, hint=W003[1], id="qrauth.W003"))
    return warnings


def _is_a_page(value: str) -> bool:
    """Whether ``value`` (a URL name, a path or a URL, as redirect() takes
    it) leads to a view of this site; a URL of another host is not ours
    to judge. URL names and i18n_patterns as in the default language."""
    with translation.override(django_settings.LANGUAGE_CODE):
        try:
            url = resolve_url(value)
        except NoReverseMatch:
            return False
        parts = urlsplit(str(url))
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            return True
        return any(_resolves(path) for path in _served_as(parts.path))


def _served_as(path: str) -> list[str]:
    """The paths the URLconf sees for ``path``: without the script prefix
    (FORCE_SCRIPT_NAME, which reverse() adds); with the slash that
    APPEND_SLASH adds; with the language prefix LocaleMiddleware adds under
    i18n_patterns."""
    prefix = get_script_prefix()
    if prefix != "/" and path.startswith(prefix):
        path = "/" + path[len(prefix) :]
    paths = [path]
    middleware = django_settings.MIDDLEWARE or []
    if django_settings.APPEND_SLASH and "django.middleware.common.CommonMiddleware" in middleware:
        paths.append(path + "/")
    if is_language_prefix_patterns_used(django_settings.ROOT_URLCONF)[0]:
        paths.append(f"/{django_settings.LANGUAGE_CODE}{path}")
    return paths


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _serves(domain: str) -> bool:
    """Whether a request for ``domain`` would pass ALLOWED_HOSTS, as Django checks it."""
    allowed = django_settings.ALLOWED_HOSTS
    if django_settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    host, _port = split_domain_port(domain)
    return bool(host) and validate_host(host, allowed)


for _check in (
    _middleware,
    _backend,
    _settings,
    _user_policy,
    _api_authenticators,
    _session_engine,
    _redis,
    _site_domain,
    _sealing,
    _landing_pages,
):
    register(_check, "qrauth")


W004 = (
    "qrauth.middleware.SignedOutDevicesMiddleware is {problem}: a device signed out on the "
    "devices page would stay signed in.",
    "Add it to MIDDLEWARE after AuthenticationMiddleware, or stop recording sign-ins with "
    "AUTH_QR_CODE_RECORD_SIGNINS = False (which turns the devices page off).",
)


def _index_of(paths: list[str], required: type) -> int | None:
    """Where ``required`` (or a subclass of it) is in the dotted ``paths``."""
    return next((i for i, path in enumerate(paths) if _lists([path], required)), None)


def _signed_out_devices(**kwargs: Any) -> list[Warning]:
    from django.contrib.auth.middleware import AuthenticationMiddleware

    from .conf import settings
    from .middleware import SignedOutDevicesMiddleware

    if setting_errors() or not settings.RECORD_SIGNINS:  # a bad value is E004's
        return []
    middleware = list(django_settings.MIDDLEWARE or [])
    authentication = _index_of(middleware, AuthenticationMiddleware)
    ours = _index_of(middleware, SignedOutDevicesMiddleware)
    if authentication is None:
        return []  # E002 says what to add first
    if ours is None:
        problem = "not in MIDDLEWARE"
    elif ours < authentication:
        problem = "before AuthenticationMiddleware in MIDDLEWARE"
    else:
        return []
    return [Warning(W004[0].format(problem=problem), hint=W004[1], id="qrauth.W004")]


register(_signed_out_devices, "qrauth")
