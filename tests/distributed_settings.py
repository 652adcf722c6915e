"""Settings for the web processes of tests/test_distributed.py: the suite's
settings, but with a database file and a Redis URL that every process shares
(the suite's own settings use an in-memory database and an in-process client)."""

import os

from .settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["QRAUTH_DISTRIBUTED_DATABASE"],
        "OPTIONS": {"timeout": 30},
    }
}

AUTH_QR_CODE_REDIS_URL = os.environ["QRAUTH_DISTRIBUTED_REDIS_URL"]
AUTH_QR_CODE_REDIS_CLIENT_FACTORY = None
