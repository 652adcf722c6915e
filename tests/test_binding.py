"""What binds a code to the browser that shows it: one secret per session,
written once; the current code of each flow in a signed cookie tagged with
that secret; the issuing session's key sealed with AES-GCM on a hand-off
order; and orders issued by earlier builds (a secret per order, the old seal),
which keep working through an upgrade."""

from __future__ import annotations

import base64
from importlib import import_module
from unittest import mock
from urllib.parse import urlsplit

import fakeredis
import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSession
from django.test import Client
from django.urls import reverse
from django.utils.crypto import salted_hmac

from qrauth import issuers, store, tokens

from .helpers import browser_of, collect, open_qr_page, open_signin, scan, signed_in_as, status

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

INVALID = reverse("invalid_auth_code")


def status_code(browser: Client, auth_code: str) -> int:
    return browser.get(reverse("qrauth_status", args=[auth_code])).status_code


# -- showing a code writes no session --------------------------------------------


def counted_saves():
    """Session saves (database engine), counted and done."""
    return mock.patch.object(
        DatabaseSession, "save", autospec=True, side_effect=DatabaseSession.save
    )


def test_showing_codes_writes_the_session_once_then_never(desktop):
    """The first code makes the session's secret; every later one, of
    either page, finds the browser's code in its cookie, not the session."""
    with counted_saves() as save:
        open_qr_page(desktop)
    assert save.call_count == 1
    with counted_saves() as save:
        for _ in range(3):
            auth_code = open_qr_page(desktop)
            assert status_code(desktop, auth_code) == 200
    assert save.call_count == 0


def test_an_anonymous_browser_reloading_its_code_writes_no_session():
    computer = Client()
    open_signin(computer)  # a new session, with its secret
    with counted_saves() as save:
        for _ in range(3):
            open_signin(computer)
    assert save.call_count == 0


# -- the codes cookie --------------------------------------------------------------


def test_the_codes_cookie_lives_as_long_as_the_session_cookie(desktop):
    """Not just the order's life: the page of a code that expired must still
    hear "expired" from its poll, not 404."""
    response = desktop.get(reverse("qr_code_page"))
    cookie = response.cookies[issuers.COOKIE]
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    auth_code = response.context["auth_code"]
    store.get_redis().delete(store.order_key(auth_code))  # expired
    answer = desktop.get(reverse("qrauth_status", args=[auth_code]))
    assert answer.status_code == 200 and answer.json()["hint"] == "expired"


def test_redis_cannot_tell_which_orders_one_browser_issued(desktop):
    """One secret per session, but a binding digest per order."""
    codes = [open_qr_page(desktop) for _ in range(3)]
    client = store.get_redis()
    bindings = {client.hget(store.order_key(code), "b") for code in codes}
    assert len(bindings) == 3


def test_only_the_newest_code_of_a_browser_is_its_own(desktop):
    old, new = open_qr_page(desktop), open_qr_page(desktop)
    assert status_code(desktop, old) == 404
    assert status_code(desktop, new) == 200


def test_a_codes_cookie_carried_to_another_session_owns_nothing(desktop, alice):
    """The attacker copies the victim's codes cookie (not the session)."""
    auth_code = open_qr_page(desktop)
    attacker = browser_of(alice)  # even the same user, in another browser
    open_qr_page(attacker)  # a session with a secret of its own
    attacker.cookies[issuers.COOKIE] = desktop.cookies[issuers.COOKIE].value
    assert status_code(attacker, auth_code) == 404
    cancel = attacker.post(reverse("qrauth_cancel", args=[auth_code]))
    assert cancel.status_code == 404
    assert store.peek_order(auth_code).state == store.PENDING


def test_an_edited_codes_cookie_owns_nothing(desktop):
    auth_code = open_qr_page(desktop)
    signed = desktop.cookies[issuers.COOKIE].value
    other = tokens.new_secret()
    desktop.cookies[issuers.COOKIE] = signed.replace(auth_code, other)
    assert status_code(desktop, auth_code) == 404
    assert status_code(desktop, other) == 404


def test_logging_out_ends_the_codes_of_the_cookie(desktop, alice):
    auth_code = open_qr_page(desktop)
    cookie = desktop.cookies[issuers.COOKIE].value
    desktop.post(reverse("logout"))
    assert store.peek_order(auth_code).state == store.CANCELLED
    desktop.force_login(alice)  # a new session: the old cookie is not its
    desktop.cookies[issuers.COOKIE] = cookie
    assert status_code(desktop, auth_code) == 404


# -- the sealed session key ----------------------------------------------------------


def _flip(sealed: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4)))
    raw[index % len(raw)] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "index", [0, 16, 31, 32, -1], ids=["first", "middle", "key-end", "tag-start", "last"]
)
def test_a_tampered_sealed_session_key_signs_nobody_in(desktop, phone, index):
    path = scan(desktop)
    order_id = path.strip("/").split("/")[-1].split(".")[0]
    key = store.order_key(order_id)
    client = store.get_redis()
    client.hset(key, "k", _flip(client.hget(key, "k").decode(), index))
    assert phone.post(path)["Location"] == INVALID
    assert signed_in_as(phone) is None


def test_a_sealed_key_moved_from_another_order_of_the_same_user_signs_nobody_in(
    desktop, phone, alice
):
    """Both orders are alice's; the other browser is still signed in. The
    sealed key names the order it was made for (associated data)."""
    path = scan(desktop)
    other = scan(browser_of(alice))
    client = store.get_redis()
    key = store.order_key(path.strip("/").split("/")[-1].split(".")[0])
    other_key = store.order_key(other.strip("/").split("/")[-1].split(".")[0])
    client.hset(key, "k", client.hget(other_key, "k"))
    assert phone.post(path)["Location"] == INVALID
    assert signed_in_as(phone) is None


def test_an_open_hand_off_order_stays_a_small_hash(desktop, phone, qr_redis):
    """Every value at most 64 bytes (hash-max-listpack-value): a longer
    sealed key would make Redis keep each open order as a hash table."""
    path = scan(desktop)
    phone.get(path, follow=True)
    key = store.order_key(path.strip("/").split("/")[-1].split(".")[0])
    client = store.get_redis()
    assert max(len(value) for value in client.hgetall(key).values()) <= 64
    if not isinstance(qr_redis, fakeredis.FakeRedis):  # fakeredis has no encodings
        assert client.object("encoding", key) in (b"ziplist", b"listpack")


# -- orders from before the upgrade ---------------------------------------------------


def _legacy_seal(order_id: str, session_key: str) -> str:
    """The seal of 0.2 (an HMAC keystream XORed over the key), as it was."""
    data = session_key.encode()
    blocks = (
        salted_hmac("qrauth.seal", f"{order_id}:{i}", algorithm="sha256").digest()
        for i in range(len(data) // 32 + 1)
    )
    stream = b"".join(blocks)[: len(data)]
    return base64.urlsafe_b64encode(
        bytes(a ^ b for a, b in zip(data, stream, strict=True))
    ).decode()


def _legacy_desktop(user) -> tuple[Client, str]:
    """A desktop whose session holds a hand-off code as 0.2 kept it, with
    the order 0.2 stored (a secret per order, the old seal)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    order_id, secret = tokens.new_secret(), tokens.new_secret()
    session["qrauth"] = {"handoff": [order_id, secret]}
    session.save()
    issuer = _legacy_seal(order_id, session.session_key)
    digest = tokens.binding_digest(secret)
    store.issue_order(order_id, user.pk, tokens.auth_digest(user), digest, issuer)
    desktop = Client()
    desktop.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return desktop, order_id


def test_a_code_shown_before_the_upgrade_still_signs_the_phone_in(phone, alice):
    desktop, order_id = _legacy_desktop(alice)
    assert desktop.get(reverse("auth_qr_code", args=[order_id])).status_code == 200
    assert status_code(desktop, order_id) == 200
    path = reverse("qr_code_login", args=[tokens.scan_token(order_id)])
    phone.post(path)
    assert signed_in_as(phone) == "alice"


def test_a_code_shown_before_the_upgrade_is_replaced_by_a_new_one(alice):
    desktop, order_id = _legacy_desktop(alice)
    new = open_qr_page(desktop)
    assert store.peek_order(order_id).state == store.CANCELLED
    assert status_code(desktop, order_id) == 404
    assert status_code(desktop, new) == 200
    assert "qrauth" not in desktop.session or "handoff" not in desktop.session["qrauth"]


def test_an_approve_code_shown_before_the_upgrade_can_still_be_collected(bob):
    computer = Client()
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    order_id, secret = tokens.new_secret(), tokens.new_secret()
    session["qrauth"] = {"approve": [order_id, secret]}
    session.save()
    computer.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    digest = tokens.binding_digest(secret)
    store.issue_approve_order(order_id, digest, "Firefox on Linux", "127.0.0.1", False)
    frame = urlsplit(status(computer, order_id)["frame"]).path
    phone = browser_of(bob)
    phone.get(frame, follow=True)
    assert phone.post(frame, {"action": "approve"}).status_code == 200
    collect(computer, order_id, confirm="account")
    assert signed_in_as(computer) == "bob"
