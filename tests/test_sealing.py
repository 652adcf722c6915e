"""qrauth.sealing: AES-GCM sealing of an order's secret, and the earlier format."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.utils.crypto import get_random_string, salted_hmac

from qrauth import sealing, tokens

ORDER_ID = tokens.new_secret()
REF = tokens.order_ref(ORDER_ID)
# What Django's session backends make: 32 characters of [a-z0-9].
SESSION_KEY = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")


def _raw(sealed: str) -> bytes:
    return base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))


def _nonce(ref: str) -> bytes:
    """The nonce sealing derives from an order's ref (RFC 8452: 12 bytes)."""
    return salted_hmac("qrauth.sealing.nonce", ref.encode(), algorithm="sha256").digest()[:12]


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# The sealing of earlier builds, as qrauth/binding.py had it: the reference for
# unseal_legacy, kept here since binding.py no longer has it.
def _old_keystream(order_id: str, length: int) -> bytes:
    blocks = (
        salted_hmac("qrauth.seal", f"{order_id}:{i}", algorithm="sha256").digest()
        for i in range(length // 32 + 1)
    )
    return b"".join(blocks)[:length]


def _old_xor(order_id: str, data: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, _old_keystream(order_id, len(data)), strict=True))


def _old_seal(order_id: str, session_key: str) -> str:
    return base64.urlsafe_b64encode(_old_xor(order_id, session_key.encode())).decode("ascii")


# -- the AES-GCM format ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [SESSION_KEY, "", "x", "é ✓ 🔑", "a" * 1000],
    ids=["key", "empty", "x", "unicode", "long"],
)
def test_round_trip(value):
    sealed = sealing.seal(REF, value)
    assert sealing.unseal(REF, sealed) == value


def test_output_is_url_safe_and_unpadded():
    for length in range(40):
        sealed = sealing.seal(REF, "k" * length)
        assert set(sealed) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )


def test_plaintext_is_not_in_the_sealed_value():
    sealed = sealing.seal(REF, SESSION_KEY)
    assert SESSION_KEY.encode() not in _raw(sealed)
    assert SESSION_KEY not in sealed


def test_one_key_sealed_for_many_orders_gives_unrelated_values():
    """Redis cannot tell which orders one browser issued: the order's ref is
    authenticated data, and the synthetic IV depends on it."""
    refs = [tokens.order_ref(tokens.new_secret()) for _ in range(50)]
    seals = [_raw(sealing.seal(ref, SESSION_KEY)) for ref in refs]
    assert len(set(seals)) == 50
    assert len({sealed[:8] for sealed in seals}) == 50  # no shared prefix either
    # One nonce per order, from its ref: sealing an order again repeats it.
    assert sealing.seal(REF, SESSION_KEY) == sealing.seal(REF, SESSION_KEY)


def test_sealed_length_of_a_session_key():
    # The key packed as base 36 (2 + 21 bytes) + 16 of tag = 39 bytes, 52
    # base64 characters; the nonce is derived, not stored. At most 64: Redis
    # keeps a hash whose values are all that short as a listpack
    # (hash-max-listpack-value), a quarter of the memory of a hash table.
    # (The earlier format: 44.)
    sealed = sealing.seal(REF, SESSION_KEY)
    assert len(sealed) == 52
    assert len(_old_seal(ORDER_ID, SESSION_KEY)) == 44


def test_every_bit_flip_is_refused():
    raw = _raw(sealing.seal(REF, SESSION_KEY))
    assert len(raw) == 39
    for i in range(len(raw)):  # ciphertext and tag alike
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[i] ^= 1 << bit
            assert sealing.unseal(REF, _text(bytes(flipped))) is None, (i, bit)


def test_every_character_change_is_refused():
    sealed = sealing.seal(REF, SESSION_KEY)
    for i in range(len(sealed)):
        for char in "A_.=1":
            changed = sealed[:i] + char + sealed[i + 1 :]
            if changed != sealed:
                assert sealing.unseal(REF, changed) is None, (i, char)


def test_truncation_and_extension_are_refused():
    sealed = sealing.seal(REF, SESSION_KEY)
    for end in range(len(sealed)):
        assert sealing.unseal(REF, sealed[:end]) is None, end
    raw = _raw(sealed)
    for end in range(len(raw)):
        assert sealing.unseal(REF, _text(raw[:end])) is None, end
    for extra in (b"\x00", b"\x00" * 3, b"tail"):
        assert sealing.unseal(REF, _text(raw + extra)) is None
    assert sealing.unseal(REF, sealed + "A") is None
    assert sealing.unseal(REF, sealed + "AAAA") is None
    assert sealing.unseal(REF, sealed + "=") is None


def test_a_non_canonical_encoding_is_refused():
    # 61 bytes: the last base64 character has four spare bits.
    sealed = sealing.seal(REF, SESSION_KEY + "x")
    assert len(sealed) % 4 == 2
    last = sealed[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    variant = sealed[:-1] + alphabet[alphabet.index(last) | 1]
    assert variant != sealed
    assert base64.urlsafe_b64decode(variant + "==") == _raw(sealed)
    assert sealing.unseal(REF, variant) is None
    assert sealing.unseal(REF, sealed) == SESSION_KEY + "x"


def test_wrong_order_ref_is_refused():
    sealed = sealing.seal(REF, SESSION_KEY)
    other = tokens.order_ref(tokens.new_secret())
    assert sealing.unseal(other, sealed) is None
    assert sealing.unseal("", sealed) is None
    assert sealing.unseal(REF + "x", sealed) is None


@pytest.mark.parametrize("mark", ["1.", "2.", ".", " "])
def test_a_marked_value_is_refused(mark):
    sealed = sealing.seal(REF, SESSION_KEY)
    assert sealing.unseal(REF, mark + sealed) is None
    assert sealing.open_sealed(ORDER_ID, REF, mark + sealed) != SESSION_KEY


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "1",
        "1.",
        "1.!!!!",
        "1.AAAA AAAA",
        "1.AAAA\nAAAA",
        "1.AAAA+AAA",
        "1.AAAA/AAA",
        "1.AAAA==",
        "1.A",
        "1.é",
        "1.\ud800",
        "1." + "A" * 80,
        "1.\x00",
        "not base64 at all",
    ],
)
def test_bad_input_is_refused(bad):
    assert sealing.unseal(REF, bad) is None


@pytest.mark.parametrize("bad", [None, b"1.AAAA", 1])
def test_values_of_another_type_are_refused(bad):
    assert sealing.unseal(REF, bad) is None
    assert sealing.open_sealed(ORDER_ID, REF, bad) is None


def test_an_order_ref_that_does_not_encode_is_refused():
    assert sealing.unseal("\ud800", sealing.seal(REF, SESSION_KEY)) is None


def test_authentic_bytes_that_are_not_utf8_are_refused():
    key = salted_hmac("qrauth.sealing", "key", algorithm="sha256").digest()
    nonce = _nonce(REF)
    raw = AESGCM(key).encrypt(nonce, b"\x00\xff\xfe", REF.encode())
    assert sealing.unseal(REF, _text(raw)) is None
    # The same construction with UTF-8 opens: the refusal is for the bytes.
    raw = AESGCM(key).encrypt(nonce, b"\x00ok", REF.encode())
    assert sealing.unseal(REF, _text(raw)) == "ok"


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"ok", b"\x02ok", b"\x01", b"\x01\x20" + b"\x00" * 20, b"\x01\x20" + b"\xff" * 21],
    ids=["empty", "no-kind", "unknown-kind", "packed-no-length", "packed-short", "packed-too-big"],
)
def test_authentic_plaintexts_seal_never_makes_are_refused(plaintext):
    key = salted_hmac("qrauth.sealing", "key", algorithm="sha256").digest()
    raw = AESGCM(key).encrypt(_nonce(REF), plaintext, REF.encode())
    assert sealing.unseal(REF, _text(raw)) is None


@pytest.mark.parametrize("text", ["0", "00000", "0" * 32, "z" * 32, "0a" * 16, "9" * 255])
def test_base36_keys_round_trip_packed(text):
    sealed = sealing.seal(REF, text)
    assert sealing.unseal(REF, sealed) == text


def test_the_key_is_aes_256_from_secret_key_and_purpose():
    key = salted_hmac("qrauth.sealing", "key", algorithm="sha256").digest()
    assert len(key) == 32
    raw = _raw(sealing.seal(REF, SESSION_KEY))
    packed = AESGCM(key).decrypt(_nonce(REF), raw, REF.encode())
    assert packed == bytes([1, 32]) + int(SESSION_KEY, 36).to_bytes(21, "big")


def test_a_new_secret_key_does_not_open_old_values(settings):
    settings.SECRET_KEY = "the-old-secret-key"
    sealed = sealing.seal(REF, SESSION_KEY)
    settings.SECRET_KEY = "the-new-secret-key"
    settings.SECRET_KEY_FALLBACKS = []
    assert sealing.unseal(REF, sealed) is None
    settings.SECRET_KEY_FALLBACKS = ["another-old-key"]
    assert sealing.unseal(REF, sealed) is None


def test_a_fallback_secret_key_opens_old_values(settings):
    settings.SECRET_KEY = "the-old-secret-key"
    sealed = sealing.seal(REF, SESSION_KEY)
    settings.SECRET_KEY = "the-new-secret-key"
    settings.SECRET_KEY_FALLBACKS = ["another-old-key", "the-old-secret-key"]
    assert sealing.unseal(REF, sealed) == SESSION_KEY
    assert sealing.open_sealed(ORDER_ID, REF, sealed) == SESSION_KEY
    # New seals are made under the new key only.
    fresh = sealing.seal(REF, SESSION_KEY)
    settings.SECRET_KEY_FALLBACKS = []
    assert sealing.unseal(REF, fresh) == SESSION_KEY
    assert sealing.unseal(REF, sealed) is None


def test_a_fallback_does_not_open_a_tampered_value(settings):
    settings.SECRET_KEY = "the-old-secret-key"
    raw = bytearray(_raw(sealing.seal(REF, SESSION_KEY)))
    raw[-1] ^= 1
    settings.SECRET_KEY = "the-new-secret-key"
    settings.SECRET_KEY_FALLBACKS = ["the-old-secret-key"]
    assert sealing.unseal(REF, _text(bytes(raw))) is None


# -- the earlier format, and open_sealed ------------------------------------------


def test_open_sealed_opens_the_aes_format():
    sealed = sealing.seal(REF, SESSION_KEY)
    assert sealing.open_sealed(ORDER_ID, REF, sealed) == SESSION_KEY
    assert sealing.open_sealed(ORDER_ID, tokens.order_ref("other"), sealed) is None


# Values of a length the earlier format padded (as a Django session key is).
@pytest.mark.parametrize(
    "value", [SESSION_KEY, "x", "a" * 100, "é ✓!"], ids=["session-key", "x", "100", "unicode"]
)
def test_open_sealed_opens_the_format_before_0_3(value):
    old = _old_seal(ORDER_ID, value)
    assert "." not in old
    assert sealing.unseal_legacy(ORDER_ID, old) == value
    assert sealing.open_sealed(ORDER_ID, REF, old) == value
    # No old value opens as the new format: it has no tag that matches.
    assert sealing.unseal(REF, old) is None


def test_the_format_before_0_3_is_keyed_by_order_id():
    old = _old_seal(ORDER_ID, SESSION_KEY)
    # The order ref plays no part in the old format...
    assert sealing.open_sealed(ORDER_ID, "any ref", old) == SESSION_KEY
    # ...and another order id gives something else (no integrity: not None).
    assert sealing.open_sealed(tokens.new_secret(), REF, old) != SESSION_KEY


def test_the_format_before_0_3_is_under_secret_key_only(settings):
    settings.SECRET_KEY = "the-old-secret-key"
    old = _old_seal(ORDER_ID, SESSION_KEY)
    settings.SECRET_KEY = "the-new-secret-key"
    settings.SECRET_KEY_FALLBACKS = ["the-old-secret-key"]
    assert sealing.unseal_legacy(ORDER_ID, old) != SESSION_KEY


@pytest.mark.parametrize("bad", ["", "!!!!", "AAA", "AAAAA", "é", "\ud800"])
def test_the_format_before_0_3_refuses_what_does_not_decode(bad):
    assert sealing.unseal_legacy(ORDER_ID, bad) is None
    assert sealing.open_sealed(ORDER_ID, REF, bad) is None


def test_the_format_before_0_3_refuses_what_is_not_utf8():
    # XOR the keystream with bytes that are not UTF-8: the old code's
    # .decode() failed on them, and unseal_legacy refuses them alike.
    old = base64.urlsafe_b64encode(_old_xor(ORDER_ID, b"\xff\xfe\xfd")).decode("ascii")
    assert sealing.unseal_legacy(ORDER_ID, old) is None
    assert sealing.open_sealed(ORDER_ID, REF, old) is None


def test_the_module_keeps_off_redis_and_the_store():
    # In a fresh interpreter: importing it loads neither redis nor the store.
    code = (
        "import sys, qrauth.sealing; "
        "print(sorted(m for m in sys.modules if m == 'redis' or m.startswith(('redis.', "
        "'qrauth.store'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_an_edited_value_opens_to_nothing_not_even_the_earlier_way():
    """The earlier format opens anything to something: an edited value of
    this one must never be read that way."""
    sealed = sealing.seal(REF, SESSION_KEY)
    for i in range(len(sealed)):
        changed = sealed[:i] + ("A" if sealed[i] != "A" else "B") + sealed[i + 1 :]
        assert sealing.open_sealed(ORDER_ID, REF, changed) is None, i
