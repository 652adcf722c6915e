"""Timing QR rendering of one animated frame: qrauth's, qrcode's, the browser's."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import timeit
from pathlib import Path

import qrcode
from servers import BENCH_DIR

import qrauth
from qrauth.qr import render_png

# A typical frame: http://host/qr/<order id>.<elapsed>.<qr_auth_code>/ (119 chars).
FRAME_URL = (
    f"http://127.0.0.1:8000/qr/Xq3v9LmT0bYc2RkE8wNfHa.12345.{hashlib.sha256(b'frame').hexdigest()}/"
)
REPEATS = 7
ENCODER_JS = Path(qrauth.__file__).parent / "static" / "qrauth" / "qrcode.js"
NODE_TIMEOUT = 60  # seconds


def best_ms(function) -> float:
    """Best of REPEATS timeit runs, in ms per call."""
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=REPEATS, number=number)) / number * 1e3


def qrauth_png() -> bytes:
    return render_png(FRAME_URL)


def qrcode_png() -> bytes:
    out = io.BytesIO()
    qrcode.make(FRAME_URL).save(out)
    return out.getvalue()


def browser_matrix_ms() -> float | None:
    """ms per QRAuthEncoder.matrix() under Node, or None without Node or the encoder."""
    node = shutil.which("node")
    if node is None or not ENCODER_JS.exists():
        return None
    command = [node, str(BENCH_DIR / "matrix_timing.js"), str(ENCODER_JS), FRAME_URL]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=NODE_TIMEOUT
    ).stdout
    return float(output)
