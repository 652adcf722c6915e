"""Sealing a secret for one order: AES-GCM under a key derived from SECRET_KEY.

A hand-off order keeps the issuing browser's session key, and Redis must
not learn it: it is a credential. ``seal`` encrypts it and authenticates it
together with the order's ref, so a value edited in Redis, or moved to
another order, does not open. ``unseal`` also opens what was sealed under a
key of SECRET_KEY_FALLBACKS, as Django's own signing does.

The nonce is not stored: it is derived from the order's ref with a keyed
hash. An order's ref is random, and its secret is sealed once, when it is
issued, so no nonce repeats under a key, and 12 bytes stay off every open
hand-off order. ``seal`` must never be called twice for one order ref with
two different plaintexts. AES-GCM, not AES-GCM-SIV, which would survive
that misuse: GCM-SIV needs OpenSSL 3.2 and is outside FIPS, where
``cryptography`` built against a distribution's OpenSSL 3.0 would fail
every hand-off page (``checks.E008`` tries a seal at start-up). The same
key sealed for two orders gives two unrelated values (the ref is
authenticated data and makes the nonce), so Redis cannot tell which orders
one browser issued.

Format: ``base64url(ciphertext + tag)``, unpadded, with no version mark:
a Django session key (32 characters) seals to 52 (packed, see ``_pack``),
and a hash field value over 64 bytes (Redis's ``hash-max-listpack-value``)
would turn every open hand-off order into a hash table, four times the
memory. The earlier format is padded base64 (``open_sealed``).
"""

from __future__ import annotations

import base64
import binascii
import re
import string

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.crypto import salted_hmac

__all__ = ["open_sealed", "seal", "unseal", "unseal_legacy"]

_KEY_PURPOSE = "qrauth.sealing"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _key(secret: str | bytes | None = None) -> bytes:
    # 32 bytes (AES-256), separated by purpose from every other use of the
    # secret; None means settings.SECRET_KEY, read at each call.
    return salted_hmac(_KEY_PURPOSE, "key", secret=secret, algorithm="sha256").digest()


def _b64encode(raw: bytes) -> str:
    # No padding: the value is stored for every open order, keep it short.
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """The bytes of canonical unpadded base64url ``text``; None for any other text."""
    if not _B64URL.fullmatch(text):
        return None  # b64decode would skip stray characters: refuse them
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        return None
    # One encoding per value: no variants (spare low bits set) that open too.
    return raw if _b64encode(raw) == text else None


def _nonce(associated: bytes, secret: str | bytes | None = None) -> bytes:
    # One per order (its ref), unpredictable without the secret.
    mac = salted_hmac(_KEY_PURPOSE + ".nonce", associated, secret=secret, algorithm="sha256")
    return mac.digest()[:_NONCE_BYTES]


# Django's session keys are 32 characters of [a-z0-9]: as one base-36
# number they take 21 bytes, and the sealed key 52 characters instead of
# 64 (every byte of an open order counts: see the top of the module). The
# first byte says which: _PACKED, or _TEXT for anything else, as UTF-8.
_DIGITS = string.digits + string.ascii_lowercase
_PACKED, _TEXT = 1, 0


def _width(length: int) -> int:
    """Bytes of the largest base-36 number of ``length`` digits."""
    return ((36**length - 1).bit_length() + 7) // 8


def _pack(text: str) -> bytes:
    if 0 < len(text) < 256 and all(char in _DIGITS for char in text):
        number = int(text, 36).to_bytes(_width(len(text)), "big")
        return bytes([_PACKED, len(text)]) + number
    return bytes([_TEXT]) + text.encode()


def _unpack(data: bytes) -> str | None:
    kind, body = data[:1], data[1:]
    if kind == bytes([_TEXT]):
        try:
            return body.decode()
        except UnicodeDecodeError:
            return None  # authentic, yet not something seal() makes
    if kind != bytes([_PACKED]) or not body or len(body) != 1 + _width(body[0]):
        return None
    number, digits = int.from_bytes(body[1:], "big"), []
    while number:
        number, digit = divmod(number, 36)
        digits.append(_DIGITS[digit])
    text = "".join(reversed(digits)).rjust(body[0], "0")
    return text if len(text) == body[0] else None


def seal(order_ref: str, plaintext: str) -> str:
    """``plaintext``, encrypted and authenticated for the order ``order_ref``."""
    associated = order_ref.encode()
    sealed = AESGCM(_key()).encrypt(_nonce(associated), _pack(plaintext), associated)
    return _b64encode(sealed)


def unseal(order_ref: str, sealed: str) -> str | None:
    """What ``seal(order_ref, ...)`` sealed in ``sealed``, under SECRET_KEY or
    one of SECRET_KEY_FALLBACKS; None for anything else. Never raises for
    bad input: ``sealed`` comes from Redis, which anyone with access edits."""
    if not isinstance(sealed, str):
        return None
    raw = _b64decode(sealed)
    if raw is None or len(raw) < _TAG_BYTES:
        return None
    try:
        associated = order_ref.encode()
    except UnicodeError:
        return None
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        try:
            nonce = _nonce(associated, secret)
            plaintext = AESGCM(_key(secret)).decrypt(nonce, raw, associated)
        except InvalidTag:
            continue
        return _unpack(plaintext)
    return None


# -- the earlier format -----------------------------------------------------
#
# For orders issued by earlier builds, which live at most AUTH_QR_CODE_EXPIRATION_TIME;
# remove after the 0.2.0 release. An HMAC-SHA256 keystream under SECRET_KEY,
# keyed by the order id, XORed over the value: no integrity check, so any
# base64 opens to something, and SECRET_KEY_FALLBACKS cannot help (nothing
# tells the right key from a wrong one). The caller's own checks (loading a
# session by that key) are what refuse a wrong value.


def _legacy_keystream(order_id: str, length: int) -> bytes:
    blocks = (
        salted_hmac("qrauth.seal", f"{order_id}:{i}", algorithm="sha256").digest()
        for i in range(length // 32 + 1)
    )
    return b"".join(blocks)[:length]


def unseal_legacy(order_id: str, sealed: str) -> str | None:
    """What the sealing of earlier builds sealed for ``order_id`` (its decoding,
    unchanged); None for text that does not decode, and for "" (nothing
    sealed: a signed-cookie session), which the old code gave back as ""."""
    try:
        data = base64.urlsafe_b64decode(sealed.encode("ascii"))
        keystream = _legacy_keystream(order_id, len(data))
        return bytes(a ^ b for a, b in zip(data, keystream, strict=True)).decode() or None
    except (ValueError, UnicodeError, AttributeError):
        return None


def open_sealed(order_id: str, order_ref: str, sealed: str) -> str | None:
    """What an order's sealed value holds, in either format; None if nothing.

    The earlier format is padded base64 of the session key: with Django's
    32-character keys it always ends in "=", which this format never does.
    So an edited value of this format never goes to the earlier one, which
    opens anything to something.
    """
    if not isinstance(sealed, str) or not sealed:
        return None
    if sealed.endswith("="):
        return unseal_legacy(order_id, sealed)
    return unseal(order_ref, sealed)
