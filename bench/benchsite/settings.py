"""Settings of the benchmark site; bench/run.py sets the two BENCH_* variables.

Production-like where it matters to the status poll: DEBUG off, database
sessions (on a file SQLite), the usual middleware, a real Redis.
"""

import os

from django.core.exceptions import ImproperlyConfigured


def _from_environment(name: str) -> str:
    try:
        return os.environ[name]
    except KeyError:
        raise ImproperlyConfigured(f"set {name}; bench/run.py does it for you") from None


SECRET_KEY = "bench-only-insecure-key"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "qrauth",
    "benchsite",  # the templates of the django-sesame journey
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # As a site with the devices page runs it: a QR-signed-in session's
    # requests each look its sign-in record up.
    "qrauth.middleware.SignedOutDevicesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "benchsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _from_environment("BENCH_DATABASE"),
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "qrauth.backends.QRAuthBackend",
    "sesame.backends.ModelBackend",
]

# The journey that bench/journey.py compares qrauth's hand-off with, built
# from django-sesame one-time tokens as its documentation suggests.
SESAME_ONE_TIME = True
SESAME_MAX_AGE = 300
LOGIN_REDIRECT_URL = "/"

STATIC_URL = "/static/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

AUTH_QR_CODE_REDIS_URL = _from_environment("BENCH_REDIS_URL")
# Orders must outlive setup plus every run, or the polls would measure the
# "expired" answer instead of the pending one with its frame.
AUTH_QR_CODE_EXPIRATION_TIME = 900

# The cost-growth runs poll 100 orders, each more often than a page does:
# bench/run.py turns the minimum interval between polls off for that server.
if "BENCH_STATUS_INTERVAL" in os.environ:
    AUTH_QR_CODE_STATUS_INTERVAL = float(os.environ["BENCH_STATUS_INTERVAL"])

# Row 2 measures the hand-off also on a server that keeps no record of
# sign-ins (bench/run.py sets this to "0" there): what recording costs.
AUTH_QR_CODE_RECORD_SIGNINS = os.environ.get("BENCH_RECORD_SIGNINS", "1") == "1"
