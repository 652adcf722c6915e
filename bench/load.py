"""Running wrk with bench/poll.lua and reading its report."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from servers import BENCH_DIR, pinned

SCRIPT = BENCH_DIR / "poll.lua"
THREADS = 2
CONNECTIONS = 32
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}  # to milliseconds
_FAILURES = ("Non-2xx", "Socket errors")


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def run_wrk(
    base_url: str,
    requests: Path,
    expected: str,
    seconds: int,
    cpus: str | None,
    connections: int = CONNECTIONS,
) -> Run:
    """One wrk run; raises if any answer was not a 200 with ``expected`` in it."""
    threads = min(THREADS, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "5s", "-s", str(SCRIPT), base_url]
    command += ["--", str(requests), expected, str(threads)]
    report = subprocess.run(
        pinned(command, cpus), capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    _check(report)
    return Run(
        requests_per_second=float(_find(report, r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_latency(report, "50"),
        p99_ms=_latency(report, "99"),
    )


def _check(report: str) -> None:
    failures = [line.strip() for line in report.splitlines() if line.strip().startswith(_FAILURES)]
    unexpected = int(_find(report, r"^Unexpected answers: (\d+)"))
    if failures or unexpected:
        raise RuntimeError(
            f"wrk saw failed requests ({unexpected} unexpected answers; "
            f"{'; '.join(failures) or 'no socket errors'}):\n{report}"
        )


def _find(report: str, pattern: str) -> str:
    match = re.search(pattern, report, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk's report has no match for {pattern!r}:\n{report}")
    return match.group(1)


def _latency(report: str, percentile: str) -> float:
    value = _find(report, rf"^\s+{percentile}%\s+([\d.]+(?:us|ms|s|m))$")
    number, unit = re.fullmatch(r"([\d.]+)(\D+)", value).groups()
    return float(number) * _UNITS[unit]
