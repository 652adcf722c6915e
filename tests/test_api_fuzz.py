"""The JSON API fuzzed from its own OpenAPI description (schemathesis)
against the demo, served as ``make demo`` serves it, with every check
schemathesis has: no request it can make may get a 5xx, or a status,
content type, header or body that the description does not list; an
invalid credential is refused, invalid data is rejected, other methods get
405 with Allow.

The seed is fixed so that CI runs the same cases every time (no flaky
failure); QRAUTH_FUZZ_SEED picks another, QRAUTH_FUZZ_EXAMPLES more cases.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest

from .test_example_project import demo_database, demo_env, demo_server  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow]

CHECKS = "all"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def drf_token(base_url: str, username: str, password: str) -> str:
    form = urlencode({"username": username, "password": password}).encode()
    with urlopen(f"{base_url}/api/token/", form, timeout=10) as response:
        return json.load(response)["token"]


def test_the_api_holds_to_its_description_under_fuzzing(demo_server, tmp_path):  # noqa: F811
    token = drf_token(demo_server.base_url, "alice", "qrauth-demo")
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{demo_server.base_url}/qr/api/openapi.json",
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        os.environ.get("QRAUTH_FUZZ_EXAMPLES", "40"),
        "--seed",
        os.environ.get("QRAUTH_FUZZ_SEED", "20261206"),
        "--workers",
        "1",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    # In tmp_path: schemathesis keeps a .schemathesis folder where it runs.
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    summary = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, summary
    assert "No issues found" in result.stdout or "passed" in result.stdout, summary
