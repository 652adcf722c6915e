"""Turn the content of a QR code into a PNG or an SVG image, fast.

The QR page polls once a second, and the plain image is drawn for every
page without JavaScript, so rendering is on a hot path. qrcode's own
``make()`` encodes the data twice to fit it, tries all eight masks, and
builds the matrix module by module in Python (about 8 ms for a scan URL).
Here the spec's tables and check codes come from the ``qrcode`` package,
and the matrix is assembled from a layout computed once per version: the
function patterns, and the order in which data modules are placed. A frame
then costs one Reed-Solomon pass over big integers and one gather.

Byte mode, level M and a fixed mask (2), as the page's own encoder
(static/qrauth/qrcode.js) draws them: choosing the mask by penalty score
costs eight trial encodings for no gain in decodability that the tests
(zxing-cpp over many random payloads) can measure. The tests compare the
matrix module for module with the ``qrcode`` package's for every version.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache
from operator import itemgetter

from qrcode.base import rs_blocks
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import BIT_LIMIT_TABLE, BCH_type_info, BCH_type_number, pattern_position

__all__ = ["QUIET_ZONE", "ContentTooLong", "qr_matrix", "render_png", "render_svg"]

QUIET_ZONE = 4  # modules of white around the code, as the standard asks
_MASK = 2  # dark where the column is a multiple of 3 (ISO/IEC 18004, table 10)
_MODE_BYTE = 0b0100
_PAD_BYTES = (0xEC, 0x11)
_LIGHT, _DARK = ord("0"), ord("1")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# '0'/'1' modules to 1-bit grey pixels (light is 1, white; dark 0), by way
# of two letters that a module's run of pixels then replaces.
_TO_LETTERS = bytes.maketrans(b"01", b"LD")


class ContentTooLong(ValueError):
    """More than the largest QR code (version 40) holds."""


def _version_for(size: int) -> int:
    """The smallest version whose level-M capacity holds ``size`` bytes."""
    for version in range(1, 41):
        header = 4 + (8 if version < 10 else 16)  # mode, then the length field
        if header + 8 * size <= BIT_LIMIT_TABLE[ERROR_CORRECT_M][version]:
            return version
    raise ContentTooLong(f"{size} bytes do not fit in a QR code")


# -- Reed-Solomon over GF(256), x^8 + x^4 + x^3 + x^2 + 1 ------------------------------

_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _EXP[_i + 255] = _x
    _LOG[_x] = _i
    _x = (_x << 1) ^ 0x11D if _x & 0x80 else _x << 1


def _multiply(a: int, b: int) -> int:
    return _EXP[_LOG[a] + _LOG[b]] if a and b else 0


@cache
def _generator_rows(degree: int) -> tuple[int, ...]:
    """For each byte f: the generator's lower coefficients times f, as one
    big-endian integer, so a division step is a shift and an XOR."""
    poly = [1]
    for i in range(degree):
        poly = [a ^ _multiply(b, _EXP[i]) for a, b in zip([*poly, 0], [0, *poly], strict=True)]
    return tuple(
        int.from_bytes(bytes(_multiply(c, factor) for c in poly[1:]), "big")
        for factor in range(256)
    )


def _error_correction(block: bytes, degree: int) -> bytes:
    """The remainder of block * x^degree divided by the generator."""
    rows = _generator_rows(degree)
    top = 8 * (degree - 1)
    keep = (1 << (8 * degree)) - 1
    remainder = 0
    for byte in block:
        remainder = ((remainder << 8) & keep) ^ rows[(remainder >> top) ^ byte]
    return remainder.to_bytes(degree, "big")


# -- the codewords -----------------------------------------------------------------


def _data_codewords(data: bytes, version: int) -> bytes:
    """Mode, length, data, a terminator of up to four zero bits, zeros to
    the byte boundary, then alternating pad bytes."""
    capacity = BIT_LIMIT_TABLE[ERROR_CORRECT_M][version]
    length_bits = 8 if version < 10 else 16
    bits = (_MODE_BYTE << length_bits | len(data)) << (8 * len(data)) | int.from_bytes(data, "big")
    count = 4 + length_bits + 8 * len(data)
    terminator = min(4, capacity - count)
    count += terminator + (-(count + terminator) % 8)
    head = (bits << (count - 4 - length_bits - 8 * len(data))).to_bytes(count // 8, "big")
    padding = bytes(_PAD_BYTES[i % 2] for i in range(capacity // 8 - len(head)))
    return head + padding


def _interleave(blocks: list[bytes]) -> bytes:
    longest = max(len(block) for block in blocks)
    return bytes(block[i] for i in range(longest) for block in blocks if i < len(block))


def _codewords(data: bytes, version: int) -> bytes:
    """Data split into the version's blocks, each with its error correction,
    data codewords interleaved, then error correction codewords."""
    codewords = _data_codewords(data, version)
    blocks, ecc = [], []
    offset = 0
    for block in rs_blocks(version, ERROR_CORRECT_M):
        chunk = codewords[offset : offset + block.data_count]
        offset += block.data_count
        blocks.append(chunk)
        ecc.append(_error_correction(chunk, block.total_count - block.data_count))
    return _interleave(blocks) + _interleave(ecc)


# -- the layout of a version --------------------------------------------------------


def _function_patterns(version: int) -> list[list[bool | None]]:
    """Finders, separators, alignment and timing patterns, format and
    version information; None marks the modules left for data."""
    size = version * 4 + 17
    grid: list[list[bool | None]] = [[None] * size for _ in range(size)]
    for top, left in ((0, 0), (size - 7, 0), (0, size - 7)):
        for r in range(-1, 8):
            for c in range(-1, 8):
                if 0 <= top + r < size and 0 <= left + c < size:
                    ring = max(abs(r - 3), abs(c - 3))
                    grid[top + r][left + c] = ring not in (2, 4)
    centres = pattern_position(version)
    for row in centres:
        for col in centres:
            if grid[row][col] is None:
                for r in range(-2, 3):
                    for c in range(-2, 3):
                        grid[row + r][col + c] = max(abs(r), abs(c)) != 1
    for i in range(8, size - 8):
        for row, col in ((i, 6), (6, i)):
            if grid[row][col] is None:
                grid[row][col] = i % 2 == 0
    _place_format(grid)
    if version >= 7:
        _place_version(grid, version)
    return grid


def _place_format(grid: list[list[bool | None]]) -> None:
    size = len(grid)
    bits = BCH_type_info((ERROR_CORRECT_M << 3) | _MASK)
    for i in range(15):
        dark = (bits >> i) & 1 == 1
        grid[i if i < 6 else i + 1 if i < 8 else size - 15 + i][8] = dark
        grid[8][size - 1 - i if i < 8 else 7 if i == 8 else 14 - i] = dark
    grid[size - 8][8] = True  # the dark module the spec always sets


def _place_version(grid: list[list[bool | None]], version: int) -> None:
    size = len(grid)
    bits = BCH_type_number(version)
    for i in range(18):
        dark = (bits >> i) & 1 == 1
        grid[i // 3][size - 11 + i % 3] = grid[size - 11 + i % 3][i // 3] = dark


def _data_positions(grid: list[list[bool | None]]) -> list[tuple[int, int]]:
    """Where data bits go, in order: two-column strips from the right,
    up then down, skipping the vertical timing column."""
    size = len(grid)
    positions = []
    upward = True
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        rows = range(size - 1, -1, -1) if upward else range(size)
        for row in rows:
            for col in (right, right - 1):
                if grid[row][col] is None:
                    positions.append((row, col))
        upward = not upward
    return positions


class _Layout:
    """A version's matrix with the quiet zone, as a gather: each module is
    an index into the data bits followed by a light and a dark constant."""

    def __init__(self, version: int) -> None:
        grid = _function_patterns(version)
        positions = _data_positions(grid)
        self.data_bits = len(positions)
        self.side = len(grid) + 2 * QUIET_ZONE
        light, dark = self.data_bits, self.data_bits + 1
        index = {position: i for i, position in enumerate(positions)}
        gather = []
        for y in range(-QUIET_ZONE, len(grid) + QUIET_ZONE):
            for x in range(-QUIET_ZONE, len(grid) + QUIET_ZONE):
                if not (0 <= y < len(grid) and 0 <= x < len(grid)):
                    gather.append(light)
                elif grid[y][x] is None:
                    gather.append(index[y, x])
                else:
                    gather.append(dark if grid[y][x] else light)
        self.gather = itemgetter(*gather)
        # The mask, as bits in placement order: XORed onto the data at once.
        mask = "".join("1" if col % 3 == 0 else "0" for _, col in positions)
        self.mask = int(mask, 2)

    def modules(self, codewords: bytes) -> bytes:
        """The matrix with its quiet zone: ``side`` rows of b"0"/b"1"."""
        spare = self.data_bits - 8 * len(codewords)  # remainder bits: light
        bits = (int.from_bytes(codewords, "big") << spare) ^ self.mask
        stream = format(bits, f"0{self.data_bits}b").encode() + b"01"
        return bytes(self.gather(stream))


_layout = cache(_Layout)  # 40 versions at most


def _modules(content: str) -> tuple[int, bytes]:
    """(side, modules) of ``content``, quiet zone included."""
    data = content.encode()
    version = _version_for(len(data))
    layout = _layout(version)
    return layout.side, layout.modules(_codewords(data, version))


# -- images -------------------------------------------------------------------------


def qr_matrix(content: str) -> list[list[bool]]:
    """The module matrix (True is dark) of ``content``, without quiet zone."""
    side, modules = _modules(content)
    rows = range(QUIET_ZONE, side - QUIET_ZONE)
    inner = slice(QUIET_ZONE, side - QUIET_ZONE)
    return [[m == _DARK for m in modules[y * side : (y + 1) * side][inner]] for y in rows]


def render_png(content: str, box_size: int = 8) -> bytes:
    """An opaque black-on-white PNG with a quiet zone, ``box_size`` px a module.

    Written here rather than by Pillow, in half the time: 1-bit grey
    (a third of the bytes of 8-bit, a quarter of zlib's work), each row of
    modules packed once and its scanline repeated ``box_size`` times."""
    side, modules = _modules(content)
    width = side * box_size
    scanlines = [
        _scanline(modules[y * side : (y + 1) * side], box_size, width) * box_size
        for y in range(side)
    ]
    header = struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)  # 1-bit grey, no interlace
    pixels = zlib.compress(b"".join(scanlines), 1)
    return _PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def _scanline(row: bytes, box_size: int, width: int) -> bytes:
    """One row of modules as a PNG scanline: filter type 0, then the
    pixels, 8 to a byte, the last byte padded."""
    letters = row.translate(_TO_LETTERS)
    bits = letters.replace(b"L", b"1" * box_size).replace(b"D", b"0" * box_size)
    packed = int(bits + b"1" * (-width % 8), 2).to_bytes((width + 7) // 8, "big")
    return b"\x00" + packed


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def render_svg(content: str, box_size: int = 8) -> str:
    """An SVG with a white background and quiet zone; one path of dark runs."""
    side, modules = _modules(content)
    runs = []
    for y in range(side):
        row = modules[y * side : (y + 1) * side]
        x = row.find(_DARK)
        while x != -1:
            end = row.find(_LIGHT, x)
            end = side if end == -1 else end
            runs.append(f"M{x},{y}h{end - x}v1h-{end - x}z")
            x = row.find(_DARK, end)
    pixels = side * box_size
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'width="{pixels}" height="{pixels}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )
