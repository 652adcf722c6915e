"""Sealing a secret for one order: AES-GCM under a key derived from SECRET_KEY.

A hand-off order keeps the issuing browser's session key, and Redis must
not learn it: it is a credential. ``seal`` encrypts it and authenticates it
together with the order's ref, so a value edited in Redis, or moved to
another order, does not open. ``unseal`` also opens what was sealed under a
key of SECRET_KEY_FALLBACKS, as Django's own signing does.

Format: ``"1." + base64url(nonce + ciphertext + tag)``, unpadded. The
version prefix tells it apart from the earlier format (plain base64url,
which never contains a "."), see ``unseal_legacy``.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.crypto import salted_hmac

__all__ = ["open_sealed", "seal", "unseal", "unseal_legacy"]

_VERSION = "1"
_PREFIX = _VERSION + "."
_KEY_PURPOSE = "qrauth.sealing"
# 96-bit random nonces, the size GCM is made for. Random is safe here: a
# key seals one value per order issued, far below the 2**32 seals at which
# a nonce collision stops being negligible.
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


def seal(order_ref: str, plaintext: str) -> str:
    """``plaintext``, encrypted and authenticated for the order ``order_ref``."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(_key()).encrypt(nonce, plaintext.encode(), order_ref.encode())
    return _PREFIX + _b64encode(nonce + sealed)


def unseal(order_ref: str, sealed: str) -> str | None:
    """What ``seal(order_ref, ...)`` sealed in ``sealed``, under SECRET_KEY or
    one of SECRET_KEY_FALLBACKS; None for anything else. Never raises for
    bad input: ``sealed`` comes from Redis, which anyone with access edits."""
    if not isinstance(sealed, str) or not sealed.startswith(_PREFIX):
        return None
    raw = _b64decode(sealed[len(_PREFIX) :])
    if raw is None or len(raw) < _NONCE_BYTES + _TAG_BYTES:
        return None
    nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    try:
        associated = order_ref.encode()
    except UnicodeError:
        return None
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        try:
            plaintext = AESGCM(_key(secret)).decrypt(nonce, body, associated)
        except InvalidTag:
            continue
        try:
            return plaintext.decode()
        except UnicodeDecodeError:
            return None  # authentic, yet not something seal() makes
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

    A versioned value ("<version>.…") goes to ``unseal`` only, so an unknown
    version is refused rather than XOR-decoded into garbage; anything else
    is the earlier format.
    """
    if not isinstance(sealed, str) or not sealed:
        return None
    if "." in sealed:
        return unseal(order_ref, sealed)
    return unseal_legacy(order_id, sealed)
