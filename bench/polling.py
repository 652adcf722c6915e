"""The status poll under wrk: against the bare view, and as open orders grow.

Every run alternates what it compares (ABBA order against drift), after a
warm-up, and keeps the median of the repeats.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import load
import orders

# What each endpoint's answers must hold for a run to count.
EXPECTED = {"status": '"frame": "http://', "bare": '"found": true'}
DRAIN_SECONDS = 1


@dataclass(frozen=True)
class Summary:
    """The medians of several measurements."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Wrk:
    """How wrk is run: for how long, on which CPUs, with which requests file
    per endpoint.

    A measurement is two runs. Throughput with CONNECTIONS connections,
    which keep both workers busy; latency with one connection, so that it
    is the time a request takes and not the time it queues (under
    saturation the median latency is only connections / throughput)."""

    seconds: int
    latency_seconds: int
    cpus: str | None
    requests: dict[str, Path]

    def measure(self, base_url: str, endpoint: str) -> load.Run:
        busy = self.run(base_url, endpoint, self.seconds)
        # When wrk stops, gunicorn still holds the requests its connections
        # left queued (32 of them, over 100 ms of work): measured, they
        # would be the latency run's slowest percent.
        time.sleep(DRAIN_SECONDS)
        alone = self.run(base_url, endpoint, self.latency_seconds, connections=1)
        return load.Run(busy.requests_per_second, alone.p50_ms, alone.p99_ms)

    def run(
        self, base_url: str, endpoint: str, seconds: int, connections: int = load.CONNECTIONS
    ) -> load.Run:
        print(f"  wrk {endpoint:6} -c{connections:<2} {seconds:2} s: ", end="", flush=True)
        requests, expected = self.requests[endpoint], EXPECTED[endpoint]
        run = load.run_wrk(base_url, requests, expected, seconds, self.cpus, connections)
        print(
            f"{run.requests_per_second:,.0f} req/s, "
            f"p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms"
        )
        return run


def check_answers(base_url: str, poll: orders.Poll) -> None:
    """Fail early, and say why, unless both endpoints answer as the load expects."""
    status = orders.fetch_json(base_url, poll, "status")
    if status.get("state") != "pending" or not status.get("frame"):
        raise RuntimeError(f"the status poll is not measuring a pending order: {status}")
    bare = orders.fetch_json(base_url, poll, "bare")
    if bare != {"bound": True, "found": True}:
        raise RuntimeError(f"the baseline did not find its session and key: {bare}")


def status_against_bare(base_url: str, wrk: Wrk, repeats: int, warm_up: int) -> dict[str, Summary]:
    """Row 1: {"status": ..., "bare": ...}."""
    for endpoint in EXPECTED:
        wrk.run(base_url, endpoint, warm_up)
    runs: dict[str, list[load.Run]] = {endpoint: [] for endpoint in EXPECTED}
    for repeat in range(repeats):
        for endpoint in _alternating(tuple(EXPECTED), repeat):
            runs[endpoint].append(wrk.measure(base_url, endpoint))
    return {endpoint: summarize(endpoint_runs) for endpoint, endpoint_runs in runs.items()}


def growth(wrk: Wrk, servers: dict[str, str], repeats: int, warm_up: int) -> dict[str, Summary]:
    """Row 5: the status poll of the same orders on each server, {name: base
    URL}, whose Redis differ only in how many other orders they hold. The
    servers take turns, so that the machine's drift (tens of seconds on a
    shared machine) falls on both alike."""
    for base_url in servers.values():
        wrk.run(base_url, "status", warm_up)
    runs: dict[str, list[load.Run]] = {name: [] for name in servers}
    for repeat in range(repeats):
        for name in _alternating(tuple(servers), repeat):
            print(f"  {name}:", flush=True)
            runs[name].append(wrk.measure(servers[name], "status"))
    return {name: summarize(name_runs) for name, name_runs in runs.items()}


def _alternating(names: tuple[str, ...], repeat: int) -> tuple[str, ...]:
    return names if repeat % 2 == 0 else names[::-1]


def summarize(runs: list[load.Run]) -> Summary:
    return Summary(
        requests_per_second=statistics.median(run.requests_per_second for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p99_ms=statistics.median(run.p99_ms for run in runs),
    )
