"""The whole hand-off as people go through it, qrauth's against django-sesame's.

A journey: a signed-in desktop opens the page that shows a code (issue),
its browser loads the QR image (image), a phone that is not signed in
decodes the image and opens the link (scan), taps Continue (confirm), and
is signed in: a 302 to "/" with a new session cookie. The phone reads the
image with zxing-cpp, as a phone's camera app would, in both journeys.

qrauth's scan link answers a 302 that keeps the scan in a signed cookie
(``qrauth_scan``) and sends the phone on to the question without the token
in its URL (``/qr/continue/``); the phone's browser follows it (follow),
and Continue posts there. So qrauth's journey is five requests, one more
than django-sesame's, whose link shows the question itself: each
journey's steps are its flow's ``steps``.

Load: several client processes run journeys back to back for a while,
each from its own slice of signed-in desktops (qrauth's rate limits stay
at their defaults, so one desktop must not issue ten codes a minute).
Costs of the steps: one journey at a time, so that a step's time is the
server's time for it and not time queued behind other requests.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import Morsel, SimpleCookie
from urllib.parse import urlencode, urlsplit

import zxingcpp
from PIL import Image

# Every step of either journey, in order; "follow" is qrauth's only.
STEPS = ("issue", "image", "scan", "follow", "confirm")
HTTP_TIMEOUT = 10  # seconds
FAILURES_KEPT = 3


class JourneyFailed(Exception):
    """A step did not answer as a working sign-in would."""


@dataclass(frozen=True)
class Flow:
    """Where a journey goes: the page that shows the code, and the start of
    the path of its QR image in that page; or, for qrauth's animated code,
    the page's status poll, whose answer carries the frame the page draws.
    ``redirects``: the scanned link answers a 302 to the question (qrauth),
    rather than asking itself (django-sesame)."""

    name: str
    page: str
    picture: str
    animated: bool = False
    redirects: bool = True

    @property
    def steps(self) -> tuple[str, ...]:
        """The requests of this flow's journey, of STEPS."""
        return STEPS if self.redirects else tuple(s for s in STEPS if s != "follow")


QRAUTH = Flow("qrauth, plain image", "/qr/", "/qr/pic/")  # a browser without JavaScript
QRAUTH_ANIMATED = Flow("qrauth, animated", "/qr/", "", animated=True)  # the default page
SESAME = Flow("sesame", "/sesame/", "/sesame/pic/", redirects=False)
OUR_FLOWS = (QRAUTH_ANIMATED, QRAUTH)
FLOWS = (*OUR_FLOWS, SESAME)


# -- HTTP, as a browser that keeps its cookies --------------------------------


@dataclass
class Browser:
    """One device: its cookies, sent with each request and updated by each
    answer, as a browser does: a cookie goes only to paths under its own
    (qrauth's scan cookie is for /qr/), and one deleted (Max-Age=0) is gone."""

    base: tuple[str, int]
    cookies: dict[str, str] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)  # name: the Path it was set for

    def get(self, path: str) -> Answer:
        return self._send("GET", path, None)

    def post(self, path: str, fields: dict[str, str]) -> Answer:
        return self._send("POST", path, urlencode(fields))

    def _cookie_header(self, path: str) -> str:
        sent = (k for k in self.cookies if _path_matches(path, self.paths.get(k, "/")))
        return "; ".join(f"{name}={self.cookies[name]}" for name in sent)

    def _send(self, method: str, path: str, body: str | None) -> Answer:
        headers = {"Cookie": self._cookie_header(path)}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        connection = http.client.HTTPConnection(*self.base, timeout=HTTP_TIMEOUT)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            answer = Answer(response.status, response.getheader("Location", ""), response.read())
        finally:
            connection.close()
        answer.seconds = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                self._keep(name, morsel)
        return answer

    def _keep(self, name: str, morsel: Morsel) -> None:
        if morsel["max-age"] == "0":  # Django's delete_cookie
            self.cookies.pop(name, None)
            self.paths.pop(name, None)
            return
        self.cookies[name] = morsel.coded_value
        self.paths[name] = morsel["path"] or "/"


def _path_matches(path: str, cookie_path: str) -> bool:
    """RFC 6265's path-match: ``path`` is ``cookie_path`` or below it."""
    path = urlsplit(path).path
    if path == cookie_path or cookie_path == "/":
        return True
    prefix = cookie_path if cookie_path.endswith("/") else cookie_path + "/"
    return path.startswith(prefix)


@dataclass
class Answer:
    status: int
    location: str
    body: bytes
    seconds: float = 0.0

    def expect(self, status: int, what: str) -> Answer:
        if self.status != status:
            raise JourneyFailed(f"{what}: {self.status} instead of {status}")
        return self


def browser_for(base_url: str, cookie: str = "") -> Browser:
    """A browser for ``base_url`` (http://host:port), with the cookies of
    ``cookie`` ("name=value; name=value", as a Cookie header) if given."""
    parts = urlsplit(base_url)
    browser = Browser((parts.hostname, parts.port))
    for pair in filter(None, cookie.split("; ")):
        name, _, value = pair.partition("=")
        browser.cookies[name] = value
    return browser


class _FormReader(HTMLParser):
    """The fields a click on the form's first named submit button sends."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._clicked = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name, value = attributes.get("name"), attributes.get("value") or ""
        if tag == "input" and attributes.get("type") == "hidden" and name:
            self.fields[name] = value
        elif tag == "button" and name and not self._clicked:
            self.fields[name] = value
            self._clicked = True


def _form_fields(html: bytes) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(html.decode())
    if "csrfmiddlewaretoken" not in reader.fields:
        raise JourneyFailed("the confirmation page has no form with a CSRF token")
    return reader.fields


def _attribute(html: bytes, name: str, starts: str, page: str) -> str:
    """The first ``name="..."`` value in ``html`` that begins with ``starts``."""
    start = html.find(f'{name}="{starts}'.encode())
    if start < 0:
        raise JourneyFailed(f"{page} has no {name} starting {starts!r}")
    start += len(name) + 2
    return html[start : html.index(b'"', start)].decode().replace("&amp;", "&")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def decoded_link(png: bytes) -> str:
    """The path of the link in a QR image (PNG bytes), as a phone's camera reads it."""
    # QR codes only, as a phone's camera looks for: a 1-D format can find a
    # false "barcode" in any busy black-and-white pattern.
    image = Image.open(io.BytesIO(png))
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    if len(found) != 1:
        raise JourneyFailed(f"the QR image holds {len(found)} QR codes, not one")
    return _path(found[0].text)


# -- one journey -----------------------------------------------------------------


def journey(flow: Flow, desktop: Browser) -> tuple[Browser, dict[str, float]]:
    """Sign a new phone in by way of ``desktop``'s code; (the phone, the
    seconds each of the flow's steps took). Raises JourneyFailed when a step fails."""
    page = desktop.get(flow.page).expect(200, f"{flow.page} (issue)")
    image, link = _code(flow, desktop, page.body)
    phone = Browser(desktop.base)
    answers = [page, image]
    if flow.redirects:
        scanned = phone.get(link).expect(302, "the scanned link")
        question_path = _followed(scanned, link)
        question = phone.get(question_path).expect(200, "the question after the scan")
        answers += [scanned, question]
    else:
        question_path = link
        question = phone.get(link).expect(200, "the scanned link")
        answers.append(question)
    # The question's form posts to its own URL (action="").
    confirmed = phone.post(question_path, _form_fields(question.body)).expect(302, "Continue")
    if confirmed.location != "/" or "sessionid" not in phone.cookies:
        raise JourneyFailed(f"Continue did not sign in (to {confirmed.location!r})")
    answers.append(confirmed)
    return phone, dict(zip(flow.steps, (answer.seconds for answer in answers), strict=True))


def _followed(scanned: Answer, link: str) -> str:
    """Where the scanned link sends the phone: a path without the token,
    with the scan kept in a cookie."""
    token = link.rstrip("/").rsplit("/", 1)[-1]
    location = _path(scanned.location)
    if not location or token in location:
        raise JourneyFailed("the scanned link did not redirect to a page without the token")
    return location


def _code(flow: Flow, desktop: Browser, page: bytes) -> tuple[Answer, str]:
    """What the desktop loads to show the code, and the link the phone reads
    from it. The animated code: the status poll carries the frame, which the
    page draws and the phone's camera reads; here the phone takes the link
    as is (decoding is the phone's work, not the server's)."""
    if flow.animated:
        status_path = _attribute(page, "data-qrauth-status", "/qr/status/", flow.page)
        status = desktop.get(status_path).expect(200, "the status poll")
        frame = json.loads(status.body).get("frame")
        if not frame:
            raise JourneyFailed("the status poll carries no frame")
        return status, _path(frame)
    image = desktop.get(_attribute(page, "src", flow.picture, flow.page))
    return image.expect(200, "the QR image"), decoded_link(image.body)


def check_journeys(base_url: str, desktop_cookie: str) -> None:
    """Fail early, and say why, unless each flow's phone ends up signed in
    as the desktop's user."""
    desktop = browser_for(base_url, desktop_cookie)
    expected = _username(desktop)
    for flow in FLOWS:
        phone, _ = journey(flow, desktop)
        if _username(phone) != expected or expected is None:
            raise JourneyFailed(f"the {flow.name} phone is not signed in as the desktop's user")


def _username(browser: Browser) -> str | None:
    return json.loads(browser.get("/whoami/").expect(200, "/whoami/").body)["username"]


# -- under load ------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    journeys_per_second: float
    failures: tuple[str, ...]


def _drive(flow: Flow, base_url: str, cookies: list[str], seconds: float, cpus: set[int]) -> Load:
    """One client process: journeys back to back for ``seconds``."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    desktops = _cycle([browser_for(base_url, cookie) for cookie in cookies])
    done, failures = 0, []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            desktop = next(desktops)
            phone, _ = journey(flow, desktop)
            if done == 0 and _username(phone) != _username(desktop):
                raise JourneyFailed("the phone is not signed in as the desktop's user")
            done += 1
        except (JourneyFailed, OSError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    return Load(done / elapsed, tuple(failures[:FAILURES_KEPT]) + _more(len(failures)))


def _more(failed: int) -> tuple[str, ...]:
    return (f"... {failed} in all",) if failed > FAILURES_KEPT else ()


def _cycle(items: list[Browser]) -> Iterator[Browser]:
    """Round and round ``items``, from a random one: each run starts
    elsewhere, so that no desktop opens more codes a minute than qrauth's
    ORDERS_PER_SESSION lets it (when one does, its journey fails)."""
    start = random.randrange(len(items))
    while True:
        yield from items[start:]
        yield from items[:start]
        start = 0


def run_load(
    flow: Flow, base_url: str, cookies: list[str], seconds: float, clients: int, cpus: set[int]
) -> float:
    """Journeys per second with ``clients`` processes on ``cpus``, each
    from its own share of the ``cookies`` (signed-in desktops); raises
    JourneyFailed if any journey failed."""
    shares = [cookies[n::clients] for n in range(clients)]
    with ProcessPoolExecutor(clients) as pool:
        futures = [pool.submit(_drive, flow, base_url, share, seconds, cpus) for share in shares]
        loads = [future.result() for future in futures]
    failures = [failure for load in loads for failure in load.failures]
    if failures:
        raise JourneyFailed(f"{flow.name} journeys failed under load: {'; '.join(failures)}")
    return sum(load.journeys_per_second for load in loads)


def step_costs(base_url: str, cookies: list[str], count: int) -> dict[str, dict[str, float]]:
    """Median ms of each step, one journey at a time, the flows alternating:
    {flow name: {step: ms}}."""
    seconds: dict[str, list[dict[str, float]]] = {flow.name: [] for flow in FLOWS}
    for index in range(count):
        desktop = browser_for(base_url, cookies[index % len(cookies)])
        for flow in FLOWS if index % 2 == 0 else FLOWS[::-1]:
            seconds[flow.name].append(journey(flow, desktop)[1])
    return {name: _medians_ms(runs) for name, runs in seconds.items()}


def _medians_ms(runs: list[dict[str, float]]) -> dict[str, float]:
    """{step: median ms} of one flow's journeys' step times ({step: seconds})."""
    return {step: statistics.median(run[step] for run in runs) * 1e3 for step in runs[0]}
