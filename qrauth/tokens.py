"""Secrets, keyed hashes and the scan token that goes into a QR code.

Anything that appears in a URL or a QR code reaches Redis only as a keyed
hash (HMAC with SECRET_KEY), so a Redis dump or MONITOR yields nothing that
can be turned back into a working URL.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.crypto import salted_hmac

__all__ = [
    "auth_digest",
    "ScanToken",
    "binding_digest",
    "frame_secret",
    "frame_token",
    "is_order_id",
    "keyed_hash",
    "match_number",
    "new_secret",
    "order_seal",
    "order_ref",
    "parse_scan_token",
    "qr_auth_code",
    "scan_token",
    "static_code",
]

# 16 random bytes: 128 bits, 22 base64url characters.
_SECRET_BYTES = 16
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{22}")
# Whole seconds since the order was issued: at most a day (EXPIRATION_TIME).
_ELAPSED_RE = re.compile(r"0|[1-9][0-9]{0,4}")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_secret() -> str:
    """A fresh random token with 128 bits of entropy, URL-safe."""
    return _b64(secrets.token_bytes(_SECRET_BYTES))


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under SECRET_KEY, separated by ``purpose``.

    Truncated to 128 bits: enough against forgery and collisions, and short
    enough to keep Redis keys and QR codes small.
    """
    mac = _keyed(purpose, settings.SECRET_KEY).copy()
    mac.update(value.encode())
    return _b64(mac.digest()[:_SECRET_BYTES])


@functools.lru_cache(maxsize=64)
def _keyed(purpose: str, secret_key: str) -> hmac.HMAC:
    """Django's salted_hmac(f"qrauth.{purpose}", ..., algorithm="sha256"),
    keyed once: every request makes a dozen of these, and the key
    derivation and HMAC set-up are most of each one's cost. The same
    bytes out (tests/test_tokens.py)."""
    return salted_hmac(f"qrauth.{purpose}", b"", secret=secret_key, algorithm="sha256")


def order_ref(order_id: str) -> str:
    """The name an order goes by in Redis and in logs; useless in a URL."""
    return _order_ref(settings.SECRET_KEY, order_id)


# A request names its order several times (its key, its seal, a log line):
# one HMAC for them all. By SECRET_KEY too, so a new key is never served
# an old ref. Order ids are public (they are in URLs): nothing secret is kept.
@functools.lru_cache(maxsize=1024)
def _order_ref(secret_key: str, order_id: str) -> str:
    return keyed_hash("order", order_id)


def binding_digest(binding_secret: str) -> str:
    """What the order keeps of the secret in the issuing browser's session."""
    return keyed_hash("binding", binding_secret)


def auth_digest(user: AbstractBaseUser) -> str:
    """Changes when the user's password does, like Django's session hash."""
    return keyed_hash("auth", user.get_session_auth_hash())


def match_number(order_id: str, claimer: str) -> str:
    """The two digits a phone must type to approve ``order_id`` (10 to 99).

    Derived from the phone session that scanned (``claimer``, its digest),
    never from the order alone: a number read off the screen before the
    victim's phone scanned belongs to another session and is worthless.
    """
    mac = salted_hmac("qrauth.number", f"{order_id}:{claimer}", algorithm="sha256").digest()
    return str(10 + int.from_bytes(mac[:8], "big") % 90)


def order_seal(
    order_id: str, flow: str, user_id: str, auth: str, allows: str, sealed_at: int
) -> str:
    """A MAC of the fields that decide a sign-in: the order, its flow, the
    user and their auth digest, the step that allows it (``allows``:
    "issued", or "allowed:"/"approved:" and the claiming session's digest),
    and when that step was taken (wall-clock seconds).

    Kept on the order and checked before any sign-in, so an order edited or
    stitched together in a shared Redis signs nobody in, and one revived
    after its life (a used order set back to pending) signs nobody in
    either.
    """
    fields = (order_id, flow, str(user_id), auth, allows, str(sealed_at))
    return keyed_hash("seal", "\x1f".join(fields))


def static_code(order_id: str) -> str:
    """The long-lived code of a plain (not animated) QR image.

    Derived, never stored: Redis only keeps a flag saying it was minted.
    """
    return keyed_hash("static", order_id)


def qr_auth_code(secret: str, elapsed: int) -> str:
    """BankID's qrAuthCode: HMAC-SHA256(key=secret, msg=str(elapsed)), hex."""
    return hmac.new(secret.encode(), str(elapsed).encode(), hashlib.sha256).hexdigest()


def frame_secret(order_id: str) -> str:
    """The secret animated frames are made with. Derived, never stored, and
    never sent: the browser only ever sees the frames themselves."""
    return keyed_hash("frame", order_id)


def scan_token(order_id: str) -> str:
    """The static token (a plain QR image): ``<order id>.<code>``."""
    return f"{order_id}.{static_code(order_id)}"


def frame_token(order_id: str, elapsed: int) -> str:
    """The token of an animated frame: ``<order id>.<elapsed>.<qr_auth_code>``."""
    return f"{order_id}.{elapsed}.{qr_auth_code(frame_secret(order_id), elapsed)}"


@dataclass(frozen=True)
class ScanToken:
    order_id: str
    elapsed: int | None  # None: a static code, valid for the order's life


def parse_scan_token(token: str) -> ScanToken | None:
    """The parts of a well-formed, authentic scan token, else None.

    Checked in constant time before Redis is asked, so guessed or tampered
    tokens cost no round trip and reveal nothing through timing.
    """
    parts = token.split(".")
    if len(parts) == 2:
        order_id, code = parts
        elapsed = None
    elif len(parts) == 3 and _ELAPSED_RE.fullmatch(parts[1]):
        order_id, code, elapsed = parts[0], parts[2], int(parts[1])
    else:
        return None
    if not _SECRET_RE.fullmatch(order_id):
        return None
    if elapsed is None:
        expected = static_code(order_id)
    else:
        expected = qr_auth_code(frame_secret(order_id), elapsed)
    if not hmac.compare_digest(code.encode(), expected.encode()):
        return None
    return ScanToken(order_id, elapsed)


def is_order_id(value: str) -> bool:
    """Whether ``value`` has the shape of an order id (says nothing else)."""
    return bool(_SECRET_RE.fullmatch(value))
