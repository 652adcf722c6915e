"""The built wheel carries the templates and static files, and nothing else
of this repository (tests, demo, benchmarks)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> list[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(out), str(ROOT)],
        check=True,
        cwd=out,
    )
    (wheel,) = out.glob("django_qrauth-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def shipped(folder: str) -> set[str]:
    return {str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*") if p.is_file()}


def test_wheel_holds_every_template_and_static_file(wheel_names):
    expected = shipped("qrauth/templates") | shipped("qrauth/static")
    assert {"qrauth/templates/qrauth/page.html", "qrauth/static/qrauth/qrauth.css"} <= expected
    assert expected <= set(wheel_names)


def test_wheel_holds_the_code_and_type_marker(wheel_names):
    assert {"qrauth/store.py", "qrauth/views/handoff.py", "qrauth/py.typed"} <= set(wheel_names)


def test_wheel_leaves_out_tests_and_demo(wheel_names):
    top_level = {name.split("/")[0] for name in wheel_names}
    assert top_level == {"qrauth", *(n.split("/")[0] for n in wheel_names if ".dist-info/" in n)}
