"""Sphinx configuration of django-qrauth's documentation: ``make docs``."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_about: dict = {}
exec((ROOT / "qrauth" / "__init__.py").read_text(encoding="utf-8"), _about)

project = "django-qrauth"
author = "the django-qrauth developers"
copyright = f"2026, {author}"
release = _about["__version__"]
version = ".".join(release.split(".")[:2])

exclude_patterns = ["_build"]
# The pages are plain reStructuredText, readable on GitHub as well: no
# extension they would need.
extensions: list[str] = []

html_theme = "furo"
html_title = f"django-qrauth {release}"
