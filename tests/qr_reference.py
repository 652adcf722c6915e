"""What both QR encoders (qrauth/qr.py, static/qrauth/qrcode.js) are held to:
the ``qrcode`` package's matrix, and texts that reach every version."""

from __future__ import annotations

import random
import string

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import BIT_LIMIT_TABLE, MODE_8BIT_BYTE, QRData

BASE64URL = string.ascii_letters + string.digits + "-_"
HOST_CHARS = string.ascii_lowercase + string.digits
NON_ASCII = "https://bücher.example/qr/日本語.🙂.Ωmega/?q=naïve"


def reference_matrix(text: str) -> list[list[bool]]:
    """qrcode's matrix: byte mode, level M, mask 2, smallest version."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=0, mask_pattern=2)
    code.add_data(QRData(text.encode("utf-8"), mode=MODE_8BIT_BYTE))
    code.make(fit=True)
    return code.modules


def byte_capacity(version: int) -> int:
    """The most bytes a version holds at level M: mode, length field, data."""
    length_bits = 8 if version < 10 else 16
    return (BIT_LIMIT_TABLE[ERROR_CORRECT_M][version] - 4 - length_bits) // 8


def url_of_length(length: int) -> str:
    url = "https://example.com/qr/" + "".join(random.Random(length).choices(BASE64URL, k=length))
    return url[:length]


def random_frame_urls(seed: int, count: int) -> list[str]:
    """Scan URLs of animated frames: random hosts, tokens, elapsed, codes."""
    rng = random.Random(seed)

    def url() -> str:
        scheme = rng.choice(["http", "https"])
        host = "".join(rng.choices(HOST_CHARS, k=rng.randint(5, 40)))
        token = "".join(rng.choices(BASE64URL, k=22))
        signature = "".join(rng.choices("0123456789abcdef", k=64))
        return f"{scheme}://{host}/qr/{token}.{rng.randint(0, 99999)}.{signature}/"

    return [url() for _ in range(count)]


# The longest text of each version, and one byte more (the next version).
FULL_VERSIONS = {url_of_length(byte_capacity(v)): v for v in range(1, 41)}
OVERFULL_VERSIONS = {url_of_length(byte_capacity(v) + 1): v + 1 for v in range(1, 40)}
TOO_LONG = url_of_length(byte_capacity(40) + 1)
