"""The AUTH_QR_CODE_* settings: defaults, live reads, validation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from qrauth.conf import DEFAULTS, setting_errors
from qrauth.conf import settings as qr_settings

EXPECTED_DEFAULTS = {
    "EXPIRATION_TIME": 300,
    "REDIRECT_URL": "/",
    "REDIS_KWARGS": {},
    "REDIS_URL": None,
    "REDIS_CLIENT_FACTORY": None,
    "REDIS_FAILURE_BACKOFF": 5,
    "BASE_URL": None,
    "KEY_PREFIX": "qrauth",
    "IMAGE_BOX_SIZE": 8,
    "ANIMATED": True,
    "FRAME_TOLERANCE": 12,
    "HANDOFF_ENABLED": True,
    "APPROVE_ENABLED": True,
    "NUMBER_MATCHING": True,
    "DESKTOP_CONFIRMATION": False,
    "CONFIRM_ACCOUNT": True,
    "USER_POLICY": None,
    "TRUSTED_PROXIES": 0,
    "STEP_UP_AGE": None,
    "STEP_UP_URL": None,
    "ORDERS_PER_SESSION": (10, 60),
    "ORDERS_PER_USER": (20, 600),
    "APPROVE_ORDERS_PER_IP": (60, 60),
    "APPROVE_ORDERS_PER_SITE": (10000, 300),
    "SCAN_FAILURES_PER_IP": (30, 300),
    "STATUS_INTERVAL": 0.5,
    "PUSH": "auto",
    "STREAMS_PER_SESSION": 6,
    "STREAMS_PER_IP": 200,
    "API_AUTHENTICATORS": (),
    "RECORD_SIGNINS": True,
    "RECORD_ADDRESS": "network",
    "RECORD_RETENTION": 90,
    "NEW_DEVICE_EMAIL": False,
}

# What tests/settings.py sets for the whole suite; each has a test of its own.
SET_BY_THE_TEST_SETTINGS = ("REDIS_CLIENT_FACTORY", "STATUS_INTERVAL")

GOOD_VALUES = [
    ("EXPIRATION_TIME", 60),
    ("REDIRECT_URL", "/home/"),
    ("REDIS_KWARGS", {"socket_timeout": 1}),
    ("REDIS_URL", "redis://localhost:6379/1"),
    ("REDIS_CLIENT_FACTORY", "tests.redis_servers.current_client"),
    ("REDIS_FAILURE_BACKOFF", 0.5),
    ("BASE_URL", "https://login.example"),
    ("BASE_URL", "https://login.example/"),
    ("BASE_URL", "http://127.0.0.1:8000"),
    ("KEY_PREFIX", "myapp:qr"),
    ("IMAGE_BOX_SIZE", 3),
    ("ANIMATED", False),
    ("FRAME_TOLERANCE", 30),
    ("HANDOFF_ENABLED", False),
    ("APPROVE_ENABLED", False),
    ("NUMBER_MATCHING", False),
    ("DESKTOP_CONFIRMATION", True),
    ("CONFIRM_ACCOUNT", False),
    ("USER_POLICY", "tests.test_approve.no_superusers"),
    ("TRUSTED_PROXIES", 2),
    ("STEP_UP_AGE", 600),
    ("STEP_UP_URL", "/account/reauthenticate/"),
    ("TRUSTED_PROXIES", "tests.test_devices.address_from_header"),
    ("ORDERS_PER_SESSION", (3, 10)),
    ("ORDERS_PER_SESSION", [3, 10]),  # as a JSON or YAML config would give it
    ("ORDERS_PER_USER", None),
    ("APPROVE_ORDERS_PER_IP", (1000, 86400)),
    ("APPROVE_ORDERS_PER_SITE", None),
    ("SCAN_FAILURES_PER_IP", (1, 1)),
    ("STATUS_INTERVAL", 0),
    ("STATUS_INTERVAL", 0.25),
    ("STATUS_INTERVAL", 2),
    ("PUSH", "on"),
    ("PUSH", "off"),
    ("STREAMS_PER_SESSION", None),
    ("STREAMS_PER_IP", 1),
    ("API_AUTHENTICATORS", ["qrauth.contrib.allauth.headless_session_token"]),
    ("RECORD_SIGNINS", False),
    ("RECORD_ADDRESS", "full"),
    ("RECORD_ADDRESS", "none"),
    ("RECORD_RETENTION", None),
    ("RECORD_RETENTION", 1),
    ("NEW_DEVICE_EMAIL", True),
]

BAD_VALUES = [
    ("HANDOFF_ENABLED", 0),
    ("APPROVE_ENABLED", "no"),
    ("NUMBER_MATCHING", None),
    ("DESKTOP_CONFIRMATION", "yes"),
    ("CONFIRM_ACCOUNT", "no"),
    ("USER_POLICY", len),
    ("TRUSTED_PROXIES", -1),
    ("STEP_UP_AGE", 0),
    ("STEP_UP_AGE", "600"),
    ("STEP_UP_URL", 5),
    ("TRUSTED_PROXIES", True),
    ("TRUSTED_PROXIES", ""),
    ("ANIMATED", 1),
    ("ANIMATED", "yes"),
    ("FRAME_TOLERANCE", 0),
    ("FRAME_TOLERANCE", 1.5),
    ("EXPIRATION_TIME", "300"),
    ("EXPIRATION_TIME", 0),
    ("EXPIRATION_TIME", -1),
    ("EXPIRATION_TIME", True),
    ("EXPIRATION_TIME", 86401),
    ("EXPIRATION_TIME", 10**19),
    ("EXPIRATION_TIME", 300.0),
    ("EXPIRATION_TIME", None),
    ("REDIRECT_URL", ""),
    ("REDIRECT_URL", None),
    ("REDIRECT_URL", 1),
    ("REDIS_KWARGS", None),
    ("REDIS_KWARGS", []),
    ("REDIS_KWARGS", "socket_timeout=1"),
    ("REDIS_URL", 6379),
    ("REDIS_URL", b"redis://localhost"),
    ("REDIS_URL", "http://localhost:6379"),
    ("REDIS_URL", "localhost:6379"),
    ("REDIS_CLIENT_FACTORY", len),
    ("REDIS_CLIENT_FACTORY", 1),
    ("REDIS_FAILURE_BACKOFF", 0),
    ("REDIS_FAILURE_BACKOFF", -1),
    ("REDIS_FAILURE_BACKOFF", True),
    ("REDIS_FAILURE_BACKOFF", "5"),
    ("BASE_URL", "https://x.com/path"),
    ("BASE_URL", "ftp://x"),
    ("BASE_URL", "x.com"),
    ("BASE_URL", "https://"),
    ("BASE_URL", ""),
    ("BASE_URL", 1),
    ("KEY_PREFIX", "a{b"),
    ("KEY_PREFIX", "a}b"),
    ("KEY_PREFIX", ""),
    ("KEY_PREFIX", None),
    ("IMAGE_BOX_SIZE", 0),
    ("IMAGE_BOX_SIZE", -8),
    ("IMAGE_BOX_SIZE", True),
    ("IMAGE_BOX_SIZE", 8.0),
    ("IMAGE_BOX_SIZE", "8"),
    ("ORDERS_PER_SESSION", 10),
    ("ORDERS_PER_SESSION", (10,)),
    ("ORDERS_PER_SESSION", (10, 60, 1)),
    ("ORDERS_PER_SESSION", (0, 60)),
    ("ORDERS_PER_USER", (10, 0)),
    ("ORDERS_PER_USER", (10, 86401)),
    ("APPROVE_ORDERS_PER_IP", (10.5, 60)),
    ("APPROVE_ORDERS_PER_IP", ("10", "60")),
    ("APPROVE_ORDERS_PER_SITE", (10000, 0)),
    ("SCAN_FAILURES_PER_IP", "30/300"),
    ("SCAN_FAILURES_PER_IP", (True, 60)),
    ("STATUS_INTERVAL", -0.5),
    ("STATUS_INTERVAL", 61),
    ("STATUS_INTERVAL", None),
    ("STATUS_INTERVAL", "0.5"),
    ("STATUS_INTERVAL", True),
    ("PUSH", True),
    ("PUSH", "yes"),
    ("PUSH", None),
    ("STREAMS_PER_SESSION", 0),
    ("STREAMS_PER_SESSION", "6"),
    ("STREAMS_PER_IP", -1),
    ("STREAMS_PER_IP", 2.5),
    ("API_AUTHENTICATORS", "qrauth.contrib.allauth.headless_session_token"),
    ("API_AUTHENTICATORS", [""]),
    ("RECORD_SIGNINS", 1),
    ("RECORD_ADDRESS", "partial"),
    ("RECORD_ADDRESS", None),
    ("RECORD_RETENTION", 0),
    ("RECORD_RETENTION", 90.0),
    ("RECORD_RETENTION", "90"),
    ("NEW_DEVICE_EMAIL", "yes"),
]


@pytest.mark.parametrize(
    "name", [name for name in EXPECTED_DEFAULTS if name not in SET_BY_THE_TEST_SETTINGS]
)
def test_default(name):
    assert getattr(qr_settings, name) == EXPECTED_DEFAULTS[name]


@pytest.mark.parametrize("name", SET_BY_THE_TEST_SETTINGS)
def test_default_of_what_the_test_settings_set(settings, name):
    delattr(settings, f"AUTH_QR_CODE_{name}")
    assert getattr(qr_settings, name) == EXPECTED_DEFAULTS[name]


def test_defaults_lists_every_setting():
    assert DEFAULTS == EXPECTED_DEFAULTS


def test_no_errors_with_the_test_settings():
    assert setting_errors() == []


@pytest.mark.parametrize(("name", "value"), GOOD_VALUES)
def test_values_are_read_live(name, value):
    with override_settings(**{f"AUTH_QR_CODE_{name}": value}):
        assert getattr(qr_settings, name) == value
        assert setting_errors() == []


def test_the_default_comes_back_when_the_override_ends():
    with override_settings(AUTH_QR_CODE_EXPIRATION_TIME=60):
        assert qr_settings.EXPIRATION_TIME == 60
    assert qr_settings.EXPIRATION_TIME == 300


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_value_raises_naming_the_setting(name, value):
    with override_settings(**{f"AUTH_QR_CODE_{name}": value}):
        with pytest.raises(ImproperlyConfigured, match=f"AUTH_QR_CODE_{name} must be"):
            getattr(qr_settings, name)


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_setting_errors_names_a_bad_value(name, value):
    with override_settings(**{f"AUTH_QR_CODE_{name}": value}):
        [error] = setting_errors()
    assert error.startswith(f"AUTH_QR_CODE_{name} must be")
    assert repr(value) in error


def test_setting_errors_lists_every_bad_setting():
    bad = {f"AUTH_QR_CODE_{name}": value for name, value in dict(BAD_VALUES).items()}
    with override_settings(**bad):
        errors = setting_errors()
    assert len(errors) == len(EXPECTED_DEFAULTS)
    for name in EXPECTED_DEFAULTS:
        assert any(error.startswith(f"AUTH_QR_CODE_{name} must be") for error in errors)


def test_a_bad_setting_does_not_hide_the_good_ones():
    with override_settings(AUTH_QR_CODE_KEY_PREFIX="a{b"):
        assert qr_settings.EXPIRATION_TIME == 300


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError):
        qr_settings.NOT_A_SETTING  # noqa: B018
    assert not hasattr(qr_settings, "SECRET_KEY")
