"""Secrets, keyed hashes and the scan token."""

from __future__ import annotations

import base64
import re

import pytest
from django.test import override_settings
from django.utils.crypto import salted_hmac

from qrauth.tokens import (
    ScanToken,
    auth_digest,
    binding_digest,
    is_order_id,
    keyed_hash,
    new_secret,
    order_ref,
    parse_scan_token,
    scan_token,
    static_code,
)

BASE64URL_22 = re.compile(r"[A-Za-z0-9_-]{22}")


def flip(text: str, index: int) -> str:
    """``text`` with the character at ``index`` swapped for another one."""
    replacement = "B" if text[index] == "A" else "A"
    return text[:index] + replacement + text[index + 1 :]


def test_new_secret_is_128_bits_of_base64url():
    secret = new_secret()
    assert BASE64URL_22.fullmatch(secret)
    assert len(base64.urlsafe_b64decode(secret + "==")) == 16


def test_new_secrets_are_all_distinct():
    assert len({new_secret() for _ in range(10_000)}) == 10_000


def test_keyed_hash_is_22_base64url_chars_without_the_input():
    value = "order-id-that-must-not-leak"
    digest = keyed_hash("order", value)
    assert BASE64URL_22.fullmatch(digest)
    assert value not in digest


def test_keyed_hash_is_deterministic():
    assert keyed_hash("order", "x") == keyed_hash("order", "x")


def test_keyed_hash_depends_on_the_purpose():
    assert keyed_hash("order", "x") != keyed_hash("binding", "x")


def test_keyed_hash_depends_on_the_secret_key():
    before = keyed_hash("order", "x")
    with override_settings(SECRET_KEY="another-secret-key"):
        assert keyed_hash("order", "x") != before


def test_derived_hashes_differ_for_the_same_input():
    value = new_secret()
    assert len({order_ref(value), binding_digest(value), static_code(value)}) == 3


def test_parse_scan_token_returns_the_order_id():
    order_id = new_secret()
    assert parse_scan_token(scan_token(order_id)) == ScanToken(order_id, None)


def test_scan_token_is_order_id_dot_static_code():
    order_id = new_secret()
    assert scan_token(order_id) == f"{order_id}.{static_code(order_id)}"


def test_parse_scan_token_rejects_a_wrong_code():
    assert parse_scan_token(f"{new_secret()}.{new_secret()}") is None


def test_parse_scan_token_rejects_the_code_of_another_order():
    order_id, other = new_secret(), new_secret()
    assert parse_scan_token(f"{order_id}.{static_code(other)}") is None


@pytest.mark.parametrize("index", [0, 10, 21, 23, 30, 44])
def test_parse_scan_token_rejects_a_flipped_character(index):
    token = scan_token(new_secret())
    assert parse_scan_token(flip(token, index)) is None


def test_parse_scan_token_rejects_a_missing_dot():
    order_id = new_secret()
    assert parse_scan_token(order_id + static_code(order_id)) is None


@pytest.mark.parametrize("suffix", [".", ".x", f".{'A' * 22}", "/", "\n", " "])
def test_parse_scan_token_rejects_a_suffix(suffix):
    assert parse_scan_token(scan_token(new_secret()) + suffix) is None


def test_parse_scan_token_rejects_a_leading_dot():
    assert parse_scan_token("." + scan_token(new_secret())) is None


@pytest.mark.parametrize("index", [5, 30])
def test_parse_scan_token_rejects_non_ascii(index):
    token = scan_token(new_secret())
    assert parse_scan_token(token[:index] + "é" + token[index + 1 :]) is None


def test_parse_scan_token_rejects_non_ascii_digits_in_the_order_id():
    order_id = "٣" + new_secret()[1:]  # ARABIC-INDIC DIGIT THREE
    assert parse_scan_token(f"{order_id}.{static_code(order_id)}") is None


@pytest.mark.parametrize("token", ["", ".", "..", "x", "x.y"])
def test_parse_scan_token_rejects_empty_and_tiny_tokens(token):
    assert parse_scan_token(token) is None


def test_parse_scan_token_rejects_an_oversized_token():
    order_id = "A" * 10_000
    assert parse_scan_token(f"{order_id}.{static_code(order_id)}") is None
    assert parse_scan_token(scan_token(new_secret()) + "A" * 10_000) is None


@pytest.mark.parametrize("length", [0, 21, 23, 32])
def test_parse_scan_token_rejects_an_order_id_of_the_wrong_length(length):
    order_id = "A" * length
    assert parse_scan_token(f"{order_id}.{static_code(order_id)}") is None


def test_is_order_id_accepts_a_new_secret():
    assert is_order_id(new_secret())


@pytest.mark.parametrize(
    "value",
    ["", "A" * 21, "A" * 23, "A" * 21 + "=", "A" * 21 + "+", "A" * 21 + "é", "A" * 22 + "\n"],
)
def test_is_order_id_rejects_other_shapes(value):
    assert not is_order_id(value)


def test_auth_digest_changes_with_the_password(alice):
    before = auth_digest(alice)
    assert auth_digest(alice) == before
    alice.set_password("a-new-password")
    assert auth_digest(alice) != before


@pytest.mark.parametrize("purpose", ["order", "binding", "limit.orders_per_session"])
@pytest.mark.parametrize("value", ["", "x", "é ✓", "a" * 300])
def test_keyed_hash_is_djangos_salted_hmac_truncated(purpose, value, settings):
    """The keyed-once HMAC gives the very bytes of salted_hmac: orders in
    Redis, and the keys of their rate limits, outlive a change of code."""
    for secret_key in ("one-secret-key", "another-secret-key"):
        settings.SECRET_KEY = secret_key
        mac = salted_hmac(f"qrauth.{purpose}", value, algorithm="sha256").digest()[:16]
        assert keyed_hash(purpose, value) == base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
