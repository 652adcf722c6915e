"""Rendering the QR code as a PNG and as an SVG."""

from __future__ import annotations

import io
import random
import re
import string
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from qrauth.qr import ContentTooLong, qr_matrix, render_png, render_svg

from .helpers import decode_png
from .qr_reference import (
    FULL_VERSIONS,
    NON_ASCII,
    OVERFULL_VERSIONS,
    TOO_LONG,
    random_frame_urls,
    reference_matrix,
)

pytestmark = [pytest.mark.slow]

QUIET_ZONE = 4  # modules, as the QR standard asks
BASE64URL = string.ascii_letters + string.digits + "-_"
HOST_CHARS = string.ascii_lowercase + string.digits
SVG = "{http://www.w3.org/2000/svg}"
RUN = re.compile(r"M(\d+),(\d+)h(\d+)v1h-(\d+)z")
CONTENT = "https://example.com/qr/" + "A" * 22 + "." + "B" * 22 + "/"


def random_scan_urls(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)

    def token() -> str:
        return "".join(rng.choices(BASE64URL, k=22))

    hosts = ("".join(rng.choices(HOST_CHARS, k=rng.randint(5, 40))) for _ in range(count))
    return [f"https://{host}/qr/{token()}.{token()}/" for host in hosts]


def long_urls() -> list[str]:
    rng = random.Random(2)
    token = "".join(rng.choices(BASE64URL, k=22))
    return [
        f"https://{'a' * 63}.example.com/{'p' * 150}/qr/{token}.{token}/",
        f"https://login.example/qr/{token}.{token}/?next=/{'x/' * 120}",
        "https://example.com/" + "".join(rng.choices(BASE64URL, k=400)),
    ]


def pixels(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("L")


def with_quiet_zone(matrix: list[list[bool]]) -> list[list[bool]]:
    side = len(matrix) + 2 * QUIET_ZONE
    padded = [[False] * side for _ in range(side)]
    for y, row in enumerate(matrix):
        padded[y + QUIET_ZONE][QUIET_ZONE : QUIET_ZONE + len(row)] = row
    return padded


# -- the matrix: module for module what the qrcode package builds --------------------


@pytest.mark.parametrize("texts", [FULL_VERSIONS, OVERFULL_VERSIONS], ids=["full", "overfull"])
def test_every_version_matches_qrcode(texts):
    for text, version in texts.items():
        matrix = qr_matrix(text)
        assert len(matrix) == 4 * version + 17
        assert matrix == reference_matrix(text), f"version {version}"


def test_random_frames_match_qrcode():
    texts = [*random_frame_urls(seed=20240613, count=300), NON_ASCII]
    assert [text for text in texts if qr_matrix(text) != reference_matrix(text)] == []


def test_content_longer_than_version_40_is_refused():
    with pytest.raises(ContentTooLong):
        qr_matrix(TOO_LONG)
    with pytest.raises(ContentTooLong):
        render_png(TOO_LONG)


# -- the images --------------------------------------------------------------------


def test_random_frames_decode_to_the_exact_content():
    for content in random_frame_urls(seed=20240614, count=300):
        assert decode_png(render_png(content)) == content


def test_random_scan_urls_decode_to_the_exact_content():
    for content in random_scan_urls(seed=20240611, count=300):
        assert decode_png(render_png(content)) == content


def test_long_urls_decode_to_the_exact_content():
    for content in long_urls():
        assert len(content) > 200
        assert decode_png(render_png(content)) == content


def test_png_is_opaque():
    image = Image.open(io.BytesIO(render_png(CONTENT)))
    assert image.mode in ("1", "L", "RGB")
    assert "transparency" not in image.info


def test_png_is_black_on_white():
    image = pixels(render_png(CONTENT))
    assert {color for _, color in image.getcolors()} == {0, 255}
    assert image.getpixel((0, 0)) == 255


@pytest.mark.parametrize("box_size", [1, 3, 8, 10])
def test_box_size_sets_the_pixel_size(box_size):
    side = (len(qr_matrix(CONTENT)) + 2 * QUIET_ZONE) * box_size
    assert pixels(render_png(CONTENT, box_size=box_size)).size == (side, side)


@pytest.mark.parametrize("box_size", [1, 5])
def test_png_matches_the_matrix_module_for_module(box_size):
    image = pixels(render_png(CONTENT, box_size=box_size))
    expected = with_quiet_zone(qr_matrix(CONTENT))
    for y, row in enumerate(expected):
        for x, dark in enumerate(row):
            for dy in range(box_size):
                for dx in range(box_size):
                    pixel = image.getpixel((x * box_size + dx, y * box_size + dy))
                    assert pixel == (0 if dark else 255), (x, y)


@pytest.mark.parametrize("box_size", range(1, 12))
def test_png_is_the_matrix_scaled_pixel_for_pixel(box_size):
    # qrauth writes the PNG itself: it must be exactly what an image library
    # makes of the same matrix, in every version, every row padded alike.
    for content in ("x", CONTENT, *long_urls()):
        png = render_png(content, box_size=box_size)
        Image.open(io.BytesIO(png)).verify()  # signature, chunks and their CRCs
        modules = bytes(
            0 if dark else 255 for row in with_quiet_zone(qr_matrix(content)) for dark in row
        )
        side = len(qr_matrix(content)) + 2 * QUIET_ZONE
        expected = Image.frombytes("L", (side, side), modules)
        expected = expected.resize((side * box_size, side * box_size), Image.NEAREST)
        assert pixels(png).tobytes() == expected.tobytes(), (content, box_size)


@pytest.mark.parametrize("box_size", [1, 4, 8])
def test_quiet_zone_is_four_white_modules(box_size):
    image = pixels(render_png(CONTENT, box_size=box_size))
    width, _ = image.size
    band = QUIET_ZONE * box_size
    inner = range(band, width - band)

    def is_quiet(x: int, y: int) -> bool:
        return x < band or y < band or x >= width - band or y >= width - band

    quiet = [image.getpixel((x, y)) for y in range(width) for x in range(width) if is_quiet(x, y)]
    assert set(quiet) == {255}
    # The finder patterns reach each edge of the code, right inside the band.
    edges = {
        "top": [image.getpixel((x, band)) for x in inner],
        "bottom": [image.getpixel((x, width - band - 1)) for x in inner],
        "left": [image.getpixel((band, y)) for y in inner],
        "right": [image.getpixel((width - band - 1, y)) for y in inner],
    }
    for edge, values in edges.items():
        assert 0 in values, edge


def parse_svg(svg: str) -> tuple[ET.Element, ET.Element, ET.Element]:
    root = ET.fromstring(svg)
    return root, root.find(f"{SVG}rect"), root.find(f"{SVG}path")


def test_svg_view_box_is_the_matrix_plus_the_quiet_zone():
    root, _, _ = parse_svg(render_svg(CONTENT))
    side = len(qr_matrix(CONTENT)) + 2 * QUIET_ZONE
    assert root.get("viewBox") == f"0 0 {side} {side}"


@pytest.mark.parametrize("box_size", [1, 8])
def test_svg_box_size_sets_the_pixel_size(box_size):
    root, _, _ = parse_svg(render_svg(CONTENT, box_size=box_size))
    side = (len(qr_matrix(CONTENT)) + 2 * QUIET_ZONE) * box_size
    assert (root.get("width"), root.get("height")) == (str(side), str(side))


def test_svg_has_a_white_rect_covering_the_view_box():
    root, rect, _ = parse_svg(render_svg(CONTENT))
    side = str(len(qr_matrix(CONTENT)) + 2 * QUIET_ZONE)
    assert rect.get("fill") in ("#fff", "#ffffff", "white")
    assert rect.get("x", "0") == rect.get("y", "0") == "0"
    assert (rect.get("width"), rect.get("height")) == (side, side)
    assert list(root).index(rect) < list(root).index(root.find(f"{SVG}path"))


@pytest.mark.parametrize("content", [CONTENT, *random_scan_urls(seed=7, count=5), *long_urls()])
def test_svg_path_matches_the_matrix_module_for_module(content):
    _, _, path = parse_svg(render_svg(content))
    d = path.get("d")
    runs = [tuple(map(int, run)) for run in RUN.findall(d)]
    assert "".join(f"M{x},{y}h{n}v1h-{m}z" for x, y, n, m in runs) == d
    expected = with_quiet_zone(qr_matrix(content))
    drawn = [[False] * len(expected) for _ in expected]
    for x, y, n, m in runs:
        assert n == m
        for column in range(x, x + n):
            assert not drawn[y][column], "overlapping runs"
            drawn[y][column] = True
    assert path.get("fill") == "#000"
    assert drawn == expected
