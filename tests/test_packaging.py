"""The built wheel carries the templates, static files and translations, and nothing else
of this repository (tests, demo, benchmarks)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
# What a checkout holds besides the source: left out of the build's copy.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".tox", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis",
    ".ruff_cache", "test-artifacts", "*.sqlite3", ".redis",
)  # fmt: skip


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> list[str]:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools writes build/ and *.egg-info next to
    # setup.py, and builds running at the same time (tox -p, another
    # `make test`) would share them.
    source = tmp_path_factory.mktemp("source") / "django-qrauth"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(out), str(source)],
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
    code = {"qrauth/store/__init__.py", "qrauth/views/handoff.py", "qrauth/py.typed"}
    assert code <= set(wheel_names)


def test_wheel_holds_every_lua_script(wheel_names):
    scripts = shipped("qrauth/store/lua")
    assert {"qrauth/store/lua/decide.lua", "qrauth/store/lua/lib/usable.lua"} <= scripts
    assert scripts <= set(wheel_names)


def test_wheel_leaves_out_tests_and_demo(wheel_names):
    top_level = {name.split("/")[0] for name in wheel_names}
    assert top_level == {"qrauth", *(n.split("/")[0] for n in wheel_names if ".dist-info/" in n)}


def test_wheel_holds_a_compiled_catalog_for_every_translation(wheel_names):
    """Each locale of the source (a django.po) ships its django.mo: Django
    reads only the compiled catalog."""
    locales = {p.parent for p in (ROOT / "qrauth" / "locale").glob("*/LC_MESSAGES/django.po")}
    expected = {str((folder / "django.mo").relative_to(ROOT)) for folder in locales}
    assert expected <= set(wheel_names)
