"""The suite's settings with a custom user model from the start (its name in
QRAUTH_TEST_USER_MODEL), for tests/custom_user_journeys.py: a foreign key to
the user model is bound when the models load, so a test cannot swap it in
mid-run."""

import os

from .settings import *  # noqa: F403

AUTH_USER_MODEL = os.environ["QRAUTH_TEST_USER_MODEL"]
