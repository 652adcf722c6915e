"""Sign-in records of custom user models, a UUID and a string primary key.

The records' foreign key is bound to the user model when the models load,
so a test cannot swap the model in mid-run (tests/test_custom_user.py
does, with recording off): these run tests/custom_user_journeys.py in a
process of its own, under settings that name the model from the start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("user_model", ["tests.EmailUser", "tests.CodeNameUser"])
def test_records_of_a_custom_user_model(user_model):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/custom_user_journeys.py", "-q"]
        + ["-p", "no:cacheprovider", "-k", "not redis-server"]
        + ["--ds", "tests.custom_user_settings"],
        cwd=ROOT,
        env={**env, "QRAUTH_TEST_USER_MODEL": user_model},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout, result.stdout
