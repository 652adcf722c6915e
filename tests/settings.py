"""Settings for the test suite."""

import os
import tempfile

SECRET_KEY = "tests-only-secret-key"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "example.com", "phone.example"]

INSTALLED_APPS = [
    "django.contrib.admin",  # qrauth's read-only admin of sign-ins (tests/test_signins.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "qrauth",
    "tests",
    # The JSON API's authenticators are tested against the real packages.
    "allauth",
    "allauth.account",
    "allauth.headless",
    "rest_framework",
    "rest_framework.authtoken",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "qrauth.middleware.SignedOutDevicesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "tests.urls"

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

# A file, not memory: the concurrency tests share it between threads.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        # test_load_race's 50 writers queue on SQLite's lock: on a loaded
        # box (tox -p, other suites) a write waits 20 s and more.
        "OPTIONS": {"timeout": 120},
        "TEST": {
            "NAME": os.path.join(tempfile.gettempdir(), f"qrauth-tests-{os.getpid()}.sqlite3")
        },
    }
}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "qrauth.backends.QRAuthBackend",
]

# Fast hashing: the suite creates many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
STATIC_URL = "/static/"
USE_TZ = True
# English by default; Accept-Language picks the shipped translations
# (tests/test_translations.py).
LANGUAGE_CODE = "en-us"
USE_I18N = True
LANGUAGES = [("en", "English"), ("sv", "Svenska"), ("ru", "Русский")]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

AUTH_QR_CODE_REDIS_CLIENT_FACTORY = "tests.redis_servers.current_client"

# Most tests poll a status many times without moving any clock; the minimum
# interval between polls has tests of its own (tests/test_limits.py), which
# turn it on. The other limits stay at their defaults.
AUTH_QR_CODE_STATUS_INTERVAL = 0

# django-allauth headless, for the JSON API's X-Session-Token (test_api_auth.py).
HEADLESS_ONLY = True
HEADLESS_FRONTEND_URLS = {"account_signup": "/accounts/signup/"}
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
