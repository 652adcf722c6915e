"""The browser's QR encoder (static/qrauth/qrcode.js) against the qrcode package.

The page draws each frame itself, so a phone must read from the screen
exactly what the server would have drawn: the JS matrix is compared module
for module with qrcode's, and decoded with zxing-cpp. Node runs once for
the whole batch.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from .helpers import decode_png
from .qr_reference import (
    FULL_VERSIONS,
    NON_ASCII,
    OVERFULL_VERSIONS,
    TOO_LONG,
    byte_capacity,
    random_frame_urls,
    reference_matrix,
)

pytestmark = [pytest.mark.slow]

ENCODER = Path(__file__).resolve().parent.parent / "qrauth" / "static" / "qrauth" / "qrcode.js"
QUIET_ZONE = 4  # modules
PIXELS_PER_MODULE = 4

# Loads the encoder the way a page does, as a classic script in a fresh
# global scope (no `module`, no `window`), then answers one JSON batch:
# each text's rows as "0"/"1" strings, or the error it threw.
RUNNER = """
const fs = require("fs"), vm = require("vm");
const path = process.argv[1];
const sandbox = { TextEncoder };
vm.runInNewContext(fs.readFileSync(path, "utf8"), sandbox, { filename: path });
const encode = (text) => {
  try {
    return sandbox.QRAuthEncoder.matrix(text).map((row) => row.map(Number).join(""));
  } catch (error) {
    return { error: error.message };
  }
};
const texts = JSON.parse(fs.readFileSync(0, "utf8"));
const exported = typeof require(path).matrix === "function";
process.stdout.write(JSON.stringify({ exported, results: texts.map(encode) }));
"""


SCAN_URLS = random_frame_urls(seed=20240612, count=1000)
ALL_TEXTS = [*SCAN_URLS, *FULL_VERSIONS, *OVERFULL_VERSIONS, TOO_LONG, NON_ASCII]


def png_of(matrix: list[list[bool]]) -> bytes:
    side = len(matrix) + 2 * QUIET_ZONE
    image = Image.new("1", (side, side), 1)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                image.putpixel((x + QUIET_ZONE, y + QUIET_ZONE), 0)
    image = image.resize((side * PIXELS_PER_MODULE,) * 2, Image.NEAREST)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def node_run() -> dict:
    node = shutil.which("node")
    if node is None:
        message = "node is not installed: the JS QR encoder cannot be tested"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    completed = subprocess.run(
        [node, "-e", RUNNER, str(ENCODER)],
        input=json.dumps(ALL_TEXTS),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def js(node_run) -> dict[str, list[list[bool]] | dict]:
    """Each text's JS matrix, or {"error": message}."""
    return {
        text: [[cell == "1" for cell in row] for row in result]
        if isinstance(result, list)
        else result
        for text, result in zip(ALL_TEXTS, node_run["results"], strict=True)
    }


def mismatches(js: dict, texts) -> list[str]:
    return [text for text in texts if js[text] != reference_matrix(text)]


def test_module_exports_the_encoder_too(node_run):
    assert node_run["exported"]


def test_random_scan_urls_match_python(js):
    assert mismatches(js, SCAN_URLS) == []


@pytest.mark.parametrize("texts", [FULL_VERSIONS, OVERFULL_VERSIONS], ids=["full", "overfull"])
def test_every_version_matches_python(js, texts):
    sides = {text: len(js[text]) for text in texts}
    assert sides == {text: 4 * version + 17 for text, version in texts.items()}
    assert mismatches(js, texts) == []


def test_capacities_are_the_specs():
    # Byte-mode capacities at level M in ISO/IEC 18004's table 7: the
    # longest texts above really need versions 10, 20 and 40.
    assert [byte_capacity(v) for v in (1, 10, 20, 40)] == [14, 213, 666, 2331]


def test_one_byte_over_version_40_throws(js):
    assert js[TOO_LONG] == {
        "error": "2332 bytes do not fit in a QR code: version 40-M holds at most 2331"
    }
    # qrcode's best_fit sets version 41, whose setter raises before its own
    # DataOverflowError check.
    with pytest.raises(ValueError):
        reference_matrix(TOO_LONG)


def test_non_ascii_text_matches_python(js):
    assert len(NON_ASCII.encode("utf-8")) > len(NON_ASCII)
    assert mismatches(js, [NON_ASCII]) == []


def test_js_matrices_decode_to_the_exact_text(js):
    texts = [*SCAN_URLS, *list(FULL_VERSIONS)[:10], NON_ASCII]  # 1,000 random frames
    assert [decode_png(png_of(js[text])) for text in texts] == texts
