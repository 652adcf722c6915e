"""The Swedish and Russian translations: complete, compiled, and what the
pages, the messages and the status poll say when a browser asks for them
(LocaleMiddleware reads Accept-Language; English stays the default)."""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

import qrauth
from qrauth.conf import settings as qrauth_settings
from qrauth.qr import render_png

from .helpers import IPHONE_SAFARI, WINDOWS_CHROME, browser_of, decode_png, open_qr_page, scan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]


@pytest.fixture(autouse=True)
def _default_language_after():
    """LocaleMiddleware activates each request's language in this thread and
    leaves it there: the next test must not start out speaking Russian."""
    yield
    translation.deactivate()


PACKAGE = Path(qrauth.__file__).resolve().parent
LANGUAGES = ["sv", "ru"]

# Phrases written here by hand, so that a test fails if the catalogs are
# swapped, empty or English: the comparisons with gettext alone would not.
KNOWN = {
    "sv": {
        "page": "Logga in på din telefon",
        "lifetime": "Koden fungerar en gång och i 5 minuter.",
        "confirm": "Logga in som alice på den här enheten?",
        "invalid": "Den här koden fungerar inte längre",
        "signin": "Logga in med din telefon",
        "status": "Skanna koden med telefonens kamera.",
        "scanned": (
            "Koden skannades med en telefon (Safari på iOS). Tryck på Fortsätt i telefonen "
            "för att logga in."
        ),
        "approve": "Chrome på Windows",
    },
    "ru": {
        "page": "Войдите на своём телефоне",
        "lifetime": "Код срабатывает один раз и действует 5 минут.",
        "confirm": "Войти как alice на этом устройстве?",
        "invalid": "Этот код больше не действует",
        "signin": "Войдите с помощью телефона",
        "status": "Отсканируйте код камерой телефона.",
        "scanned": (
            "Код отсканирован: телефон (Safari на iOS). Нажмите «Продолжить» на телефоне, "
            "чтобы войти."
        ),
        "approve": "Chrome на Windows",
    },
}


def po_path(language: str) -> Path:
    return PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po"


def mo_path(language: str) -> Path:
    return PACKAGE / "locale" / language / "LC_MESSAGES" / "django.mo"


# -- reading a .po file ----------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    # None for a singular entry's msgstr, else the plural form's index.
    msgstr: dict[int | None, str] = field(default_factory=dict)
    fuzzy: bool = False

    @property
    def key(self) -> str:
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (obsolete ``#~`` ones left out), header first."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry, target = Entry(), None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry.fuzzy = entry.fuzzy or "fuzzy" in line[2:].replace(",", " ").split()
            if line.startswith("#") or not line.strip():
                continue
            keyword, _, rest = line.partition(" ")
            if line.startswith('"'):  # a continuation of the keyword before
                keyword, rest = target, line
            value = ast.literal_eval(rest)
            target = keyword
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match:
                index = int(match.group(1))
                entry.msgstr[index] = entry.msgstr.get(index, "") + value
            elif keyword == "msgstr":
                entry.msgstr[None] = entry.msgstr.get(None, "") + value
            elif keyword in ("msgid", "msgctxt", "msgid_plural"):
                setattr(entry, keyword, (getattr(entry, keyword) or "") + value)
            else:
                raise AssertionError(f"{path}: cannot read {line!r}")
        if target is not None:
            entries.append(entry)
    return entries


def catalog_of(entries: list[Entry]) -> dict:
    """What a compiled .mo of ``entries`` holds, in GNUTranslations' terms."""
    catalog: dict = {}
    for entry in entries:
        if entry.msgid_plural is None:
            catalog[entry.key] = entry.msgstr[None]
        else:
            for index, text in entry.msgstr.items():
                catalog[(entry.key, index)] = text
    return catalog


def load_mo(path: Path) -> gnu_gettext.GNUTranslations:
    with path.open("rb") as file:
        return gnu_gettext.GNUTranslations(file)


def english_fragments() -> set[str]:
    """What the English fallback would put on a page: each msgid, or for one
    with placeholders its longer pieces between them."""
    fragments = set()
    for entry in read_po(po_path("sv"))[1:]:
        for msgid in filter(None, (entry.msgid, entry.msgid_plural)):
            pieces = re.split(r"%\(\w+\)[sd]|\{\w+\}", msgid)
            if len(pieces) == 1:
                fragments.add(msgid)
            else:
                fragments.update(p.strip() for p in pieces if len(p.strip()) >= 8)
    return fragments


def assert_no_english(text: str) -> None:
    leaked = sorted(f for f in english_fragments() if f in text)
    assert not leaked, f"English left untranslated: {leaked}"


def assert_translated(text: str, language: str, *msgids: str, **params) -> None:
    """Each msgid appears in ``text`` as the catalog of ``language`` has it."""
    with translation.override(language):
        for msgid in msgids:
            translated = gettext(msgid)
            assert translated != msgid, f"{msgid!r} has no {language} translation"
            if params:
                translated = translated % params
            assert translated in text, f"{translated!r} ({msgid!r}) is not on the page"


def need(tool: str) -> str:
    """The path of a GNU gettext tool; in CI it must be installed."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed: run scripts/ensure-tools msgfmt=gettext"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def speaking(client: Client, language: str) -> Client:
    """``client``, asking for ``language`` in every request from now on."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def scan_path(desktop: Client, auth_code: str) -> str:
    """What a phone reads off the hand-off page's plain image of ``auth_code``."""
    response = desktop.get(reverse("auth_qr_code", args=[auth_code]))
    assert response.status_code == 200
    return urlsplit(decode_png(response.content)).path


def status_of(browser: Client, auth_code: str) -> dict:
    response = browser.get(reverse("qrauth_status", args=[auth_code]))
    assert response.status_code == 200
    return json.loads(response.content)


# -- the pages, in each language -----------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_hand_off_page(desktop, language, settings):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True  # so that Allow and Deny are shown
    response = speaking(desktop, language).get(reverse("qr_code_page"))
    assert response.status_code == 200
    assert response["Content-Language"] == language
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert KNOWN[language]["page"] in html and KNOWN[language]["lifetime"] in html
    assert_translated(
        html,
        language,
        "Sign in on your phone",
        "QR code that signs your phone in to this account",  # the code's label
        "Number to type on the phone:",
        "The site is not answering. Trying again…",  # data-qrauth-offline
        "This code is no longer valid here: a newer code was opened or you signed out. "
        "Get a new code to try again.",  # data-qrauth-gone
        "Allow",
        "Deny",
        "Get a new code",
        "Cancel",
    )
    assert_translated(
        html,
        language,
        "This code signs your phone in as %(name)s.",
        name="alice",
    )
    assert_no_english(html)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_phones_confirm_page(desktop, phone, language):
    path = scan(desktop)
    response = speaking(phone, language).get(path, follow=True)
    assert response.status_code == 200
    assert "qrauth/confirm.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert KNOWN[language]["confirm"] in html
    assert_translated(html, language, "Sign in as %(name)s on this device?", name="alice")
    assert_translated(
        html,
        language,
        "Sign in on this device?",
        "You scanned a sign-in code shown on another screen. Continue only if you opened "
        "that code yourself, on a screen in front of you.",
        "Continue",
        "Cancel, this was not me",
    )
    assert_no_english(html)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_invalid_code_page(client, language):
    response = speaking(client, language).get(reverse("invalid_auth_code"))
    assert response.status_code == 200
    html = response.content.decode()
    assert KNOWN[language]["invalid"] in html
    assert_translated(
        html,
        language,
        "Invalid QR code",
        "This code no longer works",
        "The QR code has expired, was already used, or was replaced by a newer one. Open "
        "the page with the QR code again and scan the new code.",
    )
    assert_no_english(html)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_approve_sign_in_page(language):
    computer = speaking(Client(HTTP_USER_AGENT=WINDOWS_CHROME), language)
    response = computer.get(reverse("qrauth_signin"))
    assert response.status_code == 200
    html = response.content.decode()
    assert KNOWN[language]["signin"] in html and KNOWN[language]["lifetime"] in html
    assert_translated(
        html,
        language,
        "Sign in with your phone",
        "Your phone shows what is asking to sign in; check it, and approve there. This screen "
        "then signs in as you, with no password typed here.",
        "QR code to scan with a phone on which you are signed in",
        "Approved on the phone? Continue to sign in here.",
        "Get a new code",
        "Cancel",
        "Sign in with your password",
        "Time left: {time}",  # data-qrauth-countdown
        "The code did not load. Reload the page. If it still does not appear, this site's "
        "static files are not being served: its administrators need to run collectstatic and "
        "check STATIC_URL.",
    )
    with translation.override(language):
        lifetime = ngettext("%(n)d minute", "%(n)d minutes", 5) % {"n": 5}
    assert qrauth_settings.EXPIRATION_TIME == 300
    assert_translated(
        html, language, "The code works once and for %(lifetime)s.", lifetime=lifetime
    )
    assert_no_english(html)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_phones_approve_page_names_the_device_in_its_language(bob, language):
    computer = Client(HTTP_USER_AGENT=WINDOWS_CHROME, REMOTE_ADDR="203.0.113.7")
    auth_code = computer.get(reverse("qrauth_signin")).context["auth_code"]
    path = urlsplit(decode_png(render_png(status_of(computer, auth_code)["frame"]))).path
    phone = speaking(Client(HTTP_USER_AGENT=IPHONE_SAFARI, REMOTE_ADDR="203.0.113.50"), language)
    phone.force_login(bob)
    html = phone.get(path, follow=True).content.decode()
    assert KNOWN[language]["approve"] in html and "Chrome on Windows" not in html
    assert_translated(html, language, "Sign in to %(site)s on another screen?", site="testserver")
    assert_translated(
        html,
        language,
        "Approve a sign-in?",
        "Screen asking",
        "which looks like the same network as this phone",
        "Number shown on the other screen",
        "Approve",
        "Deny",
    )
    assert_no_english(html)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_desktops_continue_as_page(bob, language):
    computer = speaking(Client(HTTP_USER_AGENT=WINDOWS_CHROME), language)
    auth_code = computer.get(reverse("qrauth_signin")).context["auth_code"]
    path = urlsplit(decode_png(render_png(status_of(computer, auth_code)["frame"]))).path
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI)
    phone.force_login(bob)
    phone.get(path, follow=True)
    number = status_of(computer, auth_code)["number"]
    phone.post(reverse("qrauth_approve_resume"), {"action": "approve", "number": number})
    html = computer.post(reverse("qrauth_collect", args=[auth_code])).content.decode()
    assert_translated(html, language, "Continue as %(name)s?", name="bob")
    assert_translated(html, language, "Continue as %(name)s", name="bob")
    assert_translated(html, language, "Continue as this account?")
    assert_no_english(html)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_status_message(desktop, phone, language):
    auth_code = open_qr_page(speaking(desktop, language))
    answer = status_of(desktop, auth_code)
    assert answer["message"] == KNOWN[language]["status"]
    assert_translated(answer["message"], language, "Scan the code with your phone's camera.")

    speaking(phone, language).get(scan_path(desktop, auth_code))
    answer = status_of(desktop, auth_code)
    assert answer["message"] == KNOWN[language]["scanned"]
    assert_no_english(answer["message"])
    # The device is data, for programs: as describe_user_agent said it.
    assert answer["device"] == "Safari on iOS"


def test_english_stays_the_default(desktop):
    html = desktop.get(reverse("qr_code_page")).content.decode()
    assert '<html lang="en">' in html and "Sign in on your phone" in html
    assert status_of(desktop, open_qr_page(desktop))["message"] == (
        "Scan the code with your phone's camera."
    )


def test_each_language_is_its_own(alice):
    """A Swedish desktop and a Russian phone each read their own language."""
    desktop = speaking(browser_of(alice), "sv")
    auth_code = open_qr_page(desktop)
    phone = speaking(Client(HTTP_USER_AGENT=IPHONE_SAFARI), "ru")
    page = phone.get(scan_path(desktop, auth_code), follow=True)
    assert KNOWN["ru"]["confirm"] in page.content.decode()
    assert status_of(desktop, auth_code)["message"] == KNOWN["sv"]["scanned"]


# -- the catalogs themselves -----------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    header, *entries = read_po(po_path(language))
    assert header.msgid == "" and not header.fuzzy
    assert f"Language: {language}\n" in header.msgstr[None]
    assert "charset=UTF-8" in header.msgstr[None]
    nplurals = {"sv": 2, "ru": 3}[language]
    assert f"Plural-Forms: nplurals={nplurals};" in header.msgstr[None]
    assert len(entries) > 50
    for entry in entries:
        assert not entry.fuzzy, entry.msgid
        if entry.msgid_plural is None:
            assert list(entry.msgstr) == [None] and entry.msgstr[None], entry.msgid
        else:
            assert sorted(entry.msgstr) == list(range(nplurals)), entry.msgid
            assert all(entry.msgstr.values()), entry.msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_is_the_po_compiled(language):
    """Every msgid of the .po translates, in the committed .mo, to the .po's msgstr,
    and the .mo holds nothing else: run compilemessages after editing a .po."""
    expected = catalog_of(read_po(po_path(language)))
    # msgfmt leaves the POT-Creation-Date out of the compiled header.
    expected[""] = re.sub(r"POT-Creation-Date: .*\n", "", expected[""])
    assert load_mo(mo_path(language))._catalog == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_checks_the_po(language, tmp_path):
    msgfmt = need("msgfmt")
    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", str(tmp_path / "django.mo")]
        + [str(po_path(language))],
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "translated message" in output
    assert "fuzzy" not in output and "untranslated" not in output, output
    # What msgfmt makes of the .po now is what is committed.
    assert load_mo(tmp_path / "django.mo")._catalog == load_mo(mo_path(language))._catalog


def test_the_catalogs_hold_every_string_of_the_code(tmp_path, monkeypatch):
    """makemessages, run on a copy of the package, finds nothing new: every
    translatable string of the code and templates is in the catalogs, and
    nothing else. After changing one: ``cd qrauth && django-admin makemessages
    -l sv -l ru``, translate, ``django-admin compilemessages``."""
    for tool in ("xgettext", "msgmerge", "msguniq", "msgattrib"):
        need(tool)
    copy = tmp_path / "qrauth"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=LANGUAGES, verbosity=0)
    for language in LANGUAGES:
        fresh = catalog_of(read_po(copy / "locale" / language / "LC_MESSAGES" / "django.po"))
        committed = catalog_of(read_po(po_path(language)))
        fresh.pop(""), committed.pop("")  # the headers: dates
        assert fresh == committed, f"{language}: run makemessages and translate the changes"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_phones_answer_and_the_pages_that_end_a_flow(
    bob, desktop, phone, language, settings, clock
):
    # clock: the time stands still, so the code was shown "just now" on a
    # loaded machine too.
    computer = Client(HTTP_USER_AGENT=WINDOWS_CHROME)
    auth_code = computer.get(reverse("qrauth_signin")).context["auth_code"]
    path = urlsplit(decode_png(render_png(status_of(computer, auth_code)["frame"]))).path
    bobs_phone = speaking(Client(HTTP_USER_AGENT=IPHONE_SAFARI), language)
    bobs_phone.force_login(bob)
    details = bobs_phone.get(path, follow=True).content.decode()
    assert_translated(details, language, "just now")
    assert_translated(details, language, "Type the two-digit number shown on the other screen.")
    denied = bobs_phone.post(path, {"action": "deny"}).content.decode()
    assert_translated(denied, language, "Denied", "Nobody was signed in.", "Go to the site")
    assert_no_english(denied)

    speaking(desktop, language)
    handoff = scan_path(desktop, open_qr_page(desktop))
    own = desktop.get(handoff).content.decode()
    assert_translated(own, language, "This code is for your phone")
    assert_no_english(own)
    speaking(phone, language).get(handoff, follow=True)
    phone.post(reverse("qrauth_continue"), {"action": "continue"})
    back = phone.get(reverse("qrauth_continue")).content.decode()
    assert_translated(back, language, "You are signed in")
    assert_no_english(back)

    settings.AUTH_QR_CODE_ORDERS_PER_SESSION = (1, 60)  # one was shown above
    limited = desktop.get(reverse("qr_code_page"))
    assert limited.status_code == 429
    html = limited.content.decode()
    assert_translated(
        html,
        language,
        "There were too many sign-in codes asked for, or tried, in a short time.",
        "You can try again in {time}.",
        "You can try again now.",
        "Try again",
    )
    assert_no_english(html)
