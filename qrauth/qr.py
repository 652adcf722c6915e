"""Turn the content of a QR code into a PNG or an SVG image.

The matrix is built with a fixed mask: choosing the mask by penalty score
costs eight trial encodings for no gain in decodability that the tests
(zxing-cpp over many random payloads) can measure.
"""

from __future__ import annotations

import io

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import BIT_LIMIT_TABLE, MODE_8BIT_BYTE, QRData

__all__ = ["QUIET_ZONE", "ContentTooLong", "qr_matrix", "render_png", "render_svg"]

QUIET_ZONE = 4  # modules of white around the code, as the standard asks
_MASK = 2
_WHITE, _BLACK = 255, 0


class ContentTooLong(ValueError):
    """More than the largest QR code (version 40) holds."""


def _version_for(size: int) -> int:
    """The smallest version whose level-M capacity holds ``size`` bytes.

    Computed here because qrcode's own fitting encodes the data twice."""
    for version in range(1, 41):
        header = 4 + (8 if version < 10 else 16)  # mode, then the length field
        if header + 8 * size <= BIT_LIMIT_TABLE[ERROR_CORRECT_M][version]:
            return version
    raise ContentTooLong(f"{size} bytes do not fit in a QR code")


def qr_matrix(content: str) -> list[list[bool]]:
    """The module matrix (True is dark) of ``content``, without quiet zone."""
    # Byte mode always, as the page's own encoder (static/qrauth/qrcode.js)
    # does, so both draw the same matrix for the same content.
    data = content.encode()
    code = qrcode.QRCode(
        version=_version_for(len(data)),
        error_correction=ERROR_CORRECT_M,
        box_size=1,
        border=0,
        mask_pattern=_MASK,
    )
    code.add_data(QRData(data, mode=MODE_8BIT_BYTE))
    code.make(fit=False)
    return code.modules


def render_png(content: str, box_size: int = 8) -> bytes:
    """An opaque black-on-white PNG with a quiet zone, ``box_size`` px a module."""
    matrix = qr_matrix(content)
    side = len(matrix) + 2 * QUIET_ZONE
    pixels = bytearray([_WHITE]) * (side * side)
    for y, row in enumerate(matrix):
        start = (y + QUIET_ZONE) * side + QUIET_ZONE
        for x, dark in enumerate(row):
            if dark:
                pixels[start + x] = _BLACK
    # 1 bit per pixel: a quarter of the work for zlib, a third of the bytes.
    image = Image.frombytes("L", (side, side), bytes(pixels)).convert("1")
    image = image.resize((side * box_size, side * box_size), Image.NEAREST)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def render_svg(content: str, box_size: int = 8) -> str:
    """An SVG with a white background and quiet zone; one path of dark runs."""
    matrix = qr_matrix(content)
    side = len(matrix) + 2 * QUIET_ZONE
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append(f"M{start + QUIET_ZONE},{y + QUIET_ZONE}h{x - start}v1h-{x - start}z")
    pixels = side * box_size
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'width="{pixels}" height="{pixels}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )
