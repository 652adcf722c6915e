"""The documentation tells the truth about the code: every setting with its
default, every system check, install lines that cannot pick up the unrelated
django-qrauth 0.1.2 of the package index, and a README the index can render."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import docutils.core
import docutils.utils
import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from qrauth.conf import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.rst"
SETTINGS_PAGE = DOCS / "reference" / "settings.rst"
CHECKS_PAGE = DOCS / "reference" / "checks.rst"
INSTALL_FLOOR = Version("0.2")

# A setting's section: its name as the title, then "Default: ``<Python literal>``".
SECTION = re.compile(r"^``(AUTH_QR_CODE_\w+)``\n-{3,}$", re.MULTILINE)
DEFAULT = re.compile(r"^``(AUTH_QR_CODE_\w+)``\n-{3,}\n\nDefault: ``(.*)``$", re.MULTILINE)
CHECK_ID = re.compile(r"qrauth\.[EW]\d{3}")
PIP_INSTALL = re.compile(r"\bpip3?\s+install\b(.*)")
ARGUMENT = re.compile(r"\"[^\"]*\"|'[^']*'|\S+")
PROJECT = re.compile(r"django[-_.]qrauth\b", re.IGNORECASE)


def rst_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.rst"))]


def index_requirements(text: str) -> list[str]:
    """The django-qrauth requirements that ``pip install`` lines in ``text``
    ask of the package index (paths and wheel files are not the index's)."""
    found = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        for match in PIP_INSTALL.finditer(line):
            rest = match.group(1)
            if not rest.strip() and number + 1 < len(lines):  # wrapped after "install"
                rest = lines[number + 1]
            for argument in ARGUMENT.findall(rest):
                argument = argument.strip("\"'").rstrip("`.,;:)")
                if PROJECT.match(argument):
                    found.append(argument)
    return found


def has_floor(requirement: str) -> bool:
    """Whether ``requirement`` excludes every release before INSTALL_FLOOR."""
    try:
        specifier = Requirement(requirement).specifier
    except InvalidRequirement:
        return False
    lowest = [Version(s.version) for s in specifier if s.operator in (">=", ">", "==", "~=")]
    return any(version >= INSTALL_FLOOR for version in lowest)


def test_every_setting_of_the_code_has_one_section_in_the_settings_reference():
    titles = SECTION.findall(SETTINGS_PAGE.read_text(encoding="utf-8"))
    assert sorted(set(titles)) == sorted(titles), "a setting has two sections"
    assert set(titles) == {f"AUTH_QR_CODE_{name}" for name in DEFAULTS}


def test_every_documented_default_is_the_default_in_the_code():
    text = SETTINGS_PAGE.read_text(encoding="utf-8")
    documented = dict(DEFAULT.findall(text))
    assert set(documented) == set(SECTION.findall(text)), "a section without its Default line"
    for name, literal in documented.items():
        value, default = ast.literal_eval(literal), DEFAULTS[name.removeprefix("AUTH_QR_CODE_")]
        assert (value, type(value)) == (default, type(default)), name


def test_every_check_of_the_code_is_in_the_checks_reference():
    in_code = set(CHECK_ID.findall((ROOT / "qrauth" / "checks.py").read_text(encoding="utf-8")))
    assert "qrauth.E001" in in_code
    documented = set(CHECK_ID.findall(CHECKS_PAGE.read_text(encoding="utf-8")))
    assert in_code - documented == set()


@pytest.mark.parametrize("path", rst_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_install_from_the_index_carries_the_version_floor(path):
    """The index serves an unrelated django-qrauth 0.1.2 (2014) under this
    name: without ``>=0.2``, pip would install it."""
    requirements = index_requirements(path.read_text(encoding="utf-8"))
    assert [r for r in requirements if not has_floor(r)] == []


def test_the_readme_and_the_docs_show_the_install_from_the_index():
    assert index_requirements(README.read_text(encoding="utf-8"))
    assert index_requirements((DOCS / "tutorial.rst").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "line, bare",
    [
        ("pip install django-qrauth", ["django-qrauth"]),
        ("    pip install -U Django_QRAuth==0.1.2", ["Django_QRAuth==0.1.2"]),
        ('Run ``pip install "django-qrauth<1"``.', ["django-qrauth<1"]),
        ("python -m pip install\n    django-qrauth", ["django-qrauth"]),
        ('pip install "django-qrauth>=0.2"', []),
        ("pip install 'django-qrauth[extra]>=0.2.1'", []),
        ("pip install /path/to/django-qrauth dist/django_qrauth-0.2.0-py3-none-any.whl", []),
    ],
)
def test_the_floor_check_finds_a_bare_install(line, bare):
    assert [r for r in index_requirements(line) if not has_floor(r)] == bare


def test_the_readme_renders_without_sphinx():
    """The package index renders README.rst (setup.py's long_description)
    with docutils alone: no Sphinx role or directive, no warning."""
    docutils.core.publish_doctree(
        README.read_text(encoding="utf-8"),
        source_path=str(README),
        settings_overrides={"report_level": 2, "halt_level": 2},
    )


def test_the_readme_renders_a_bare_sphinx_role_as_an_error():
    """The check above can fail."""
    with pytest.raises(docutils.utils.SystemMessage):
        docutils.core.publish_doctree(
            "See :doc:`tutorial`.", settings_overrides={"report_level": 2, "halt_level": 2}
        )


def test_the_readme_images_exist():
    images = re.findall(r"^\.\. image:: (\S+)$", README.read_text(encoding="utf-8"), re.MULTILINE)
    assert images
    assert [image for image in images if not (ROOT / image).is_file()] == []


def test_the_two_commands_are_the_readme_s_first_code():
    first_block = README.read_text(encoding="utf-8").split("::\n\n", 1)[1].split("\n\n", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["make demo", "make test"]
