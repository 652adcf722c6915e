"""The AUTH_QR_CODE_* settings: defaults, validation, read live.

Every read goes to ``django.conf.settings``, so ``override_settings`` in tests
and settings changed at runtime take effect without plumbing. A bad value
raises ``ImproperlyConfigured`` naming the setting and what it must be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["DEFAULTS", "settings", "setting_errors"]


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _lifetime(value: Any) -> bool:
    # A day at most: a sign-in code is not a long-lived credential, and
    # Redis refuses (mid-script, leaving no TTL) absurdly large expiries.
    return _positive_int(value) and value <= 86400


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _optional_positive_int(value: Any) -> bool:
    return value is None or _positive_int(value)


def _optional_lifetime(value: Any) -> bool:
    return value is None or _positive_int(value)


def _proxies(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rate(value: Any) -> bool:
    # (count, seconds): at most ``count`` in any fixed window of ``seconds``.
    if value is None:
        return True
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return False
    count, window = value
    return _positive_int(count) and _lifetime(window)


def _interval(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 60


def _optional_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _redis_url(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, str) and urlsplit(value).scheme in ("redis", "rediss", "unix")


def _non_empty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _base_url(value: Any) -> bool:
    # An origin only: the path comes from the URLconf (and SCRIPT_NAME).
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.path in ("", "/")


def _dotted_paths(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(_non_empty_str(path) for path in value)


def _key_prefix(value: Any) -> bool:
    # Braces would break the per-order hash tag that keeps Redis Cluster happy.
    return _non_empty_str(value) and "{" not in value and "}" not in value


_RATE = "None (no limit) or (count, seconds): two whole numbers, seconds at most 86400"

# name: (default, validator, what a valid value looks like)
_SPEC: dict[str, tuple[Any, Callable[[Any], bool], str]] = {
    "EXPIRATION_TIME": (300, _lifetime, "a whole number of seconds from 1 to 86400"),
    "REDIRECT_URL": ("/", _non_empty_str, "a non-empty URL or path"),
    "REDIS_KWARGS": ({}, lambda v: isinstance(v, dict), "a dict of redis.Redis arguments"),
    "REDIS_URL": (None, _redis_url, "None or a redis:// / rediss:// / unix:// URL"),
    "REDIS_CLIENT_FACTORY": (None, _optional_str, "None or a dotted path to a callable"),
    "REDIS_FAILURE_BACKOFF": (5, _positive_number, "a positive number of seconds"),
    "BASE_URL": (None, _base_url, "None or an origin such as 'https://example.com' (no path)"),
    "KEY_PREFIX": ("qrauth", _key_prefix, "a non-empty string without braces"),
    "IMAGE_BOX_SIZE": (8, _positive_int, "a positive integer (pixels per module)"),
    "ANIMATED": (True, _bool, "True or False"),
    "FRAME_TOLERANCE": (12, _positive_int, "a positive integer (seconds)"),
    "HANDOFF_ENABLED": (True, _bool, "True or False"),
    "APPROVE_ENABLED": (True, _bool, "True or False"),
    "NUMBER_MATCHING": (True, _bool, "True or False"),
    "DESKTOP_CONFIRMATION": (False, _bool, "True or False"),
    "CONFIRM_ACCOUNT": (True, _bool, "True or False"),
    "USER_POLICY": (None, _optional_str, "None or a dotted path to a callable"),
    "STEP_UP_AGE": (None, _optional_lifetime, "None or a whole number of seconds (1 or more)"),
    "STEP_UP_URL": (None, _optional_str, "None, or the URL, path or URL name of a view"),
    "TRUSTED_PROXIES": (
        0,
        _proxies,
        "a number of proxies (0 or more) or a dotted path to a callable(request)",
    ),
    "ORDERS_PER_SESSION": ((10, 60), _rate, _RATE),
    "ORDERS_PER_USER": ((20, 600), _rate, _RATE),
    "APPROVE_ORDERS_PER_IP": ((60, 60), _rate, _RATE),
    "APPROVE_ORDERS_PER_SITE": ((10000, 300), _rate, _RATE),
    "SCAN_FAILURES_PER_IP": ((30, 300), _rate, _RATE),
    "STATUS_INTERVAL": (0.5, _interval, "a number of seconds from 0 (no limit) to 60"),
    "PUSH": ("auto", lambda v: v in ("auto", "on", "off"), '"auto", "on" or "off"'),
    "STREAMS_PER_SESSION": (6, _optional_positive_int, "None (no limit) or a positive integer"),
    "STREAMS_PER_IP": (200, _optional_positive_int, "None (no limit) or a positive integer"),
    "API_AUTHENTICATORS": ((), _dotted_paths, "a list of dotted paths to callables(request)"),
    # Sign-ins on record and the devices page (qrauth.signins).
    "RECORD_SIGNINS": (True, _bool, "True or False"),
    "RECORD_ADDRESS": (
        "network",
        lambda v: v in ("full", "network", "none"),
        '"full", "network" or "none"',
    ),
    "RECORD_RETENTION": (90, _optional_positive_int, "None (keep) or a whole number of days"),
    "NEW_DEVICE_EMAIL": (False, _bool, "True or False"),
}

DEFAULTS: dict[str, Any] = {name: spec[0] for name, spec in _SPEC.items()}


def _check(name: str, value: Any) -> str | None:
    """Return an actionable error for a bad value, or None."""
    _, is_valid, expected = _SPEC[name]
    if is_valid(value):
        return None
    return f"AUTH_QR_CODE_{name} must be {expected}, got {value!r}."


def setting_errors() -> list[str]:
    """Every invalid AUTH_QR_CODE_* setting, for the system checks."""
    errors = (_check(name, _raw(name)) for name in _SPEC)
    return [error for error in errors if error]


def _raw(name: str) -> Any:
    return getattr(django_settings, f"AUTH_QR_CODE_{name}", DEFAULTS[name])


class _Settings:
    """``settings.EXPIRATION_TIME`` reads ``AUTH_QR_CODE_EXPIRATION_TIME`` live.

    A value is checked the first time it is read, and again whenever the
    setting holds another object (a test's override): every request reads
    several settings, and their values do not change under it."""

    def __init__(self) -> None:
        self._checked: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in _SPEC:
            raise AttributeError(name)
        value = _raw(name)
        if self._checked.get(name, _UNCHECKED) is value:
            return value
        error = _check(name, value)
        if error:
            raise ImproperlyConfigured(error)
        self._checked[name] = value
        return value


_UNCHECKED = object()


settings = _Settings()
