"""The table ``make bench`` prints and writes to bench/results.md.

Each row: what is measured, our figure, the baseline measured in the same
run, the ratio of the two (which way is better is said in the row), and
the target with whether it was met.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import Any

import servers

Row = tuple[str, str, str, str, str]
HEADER: list[Row] = [
    ("what", "ours", "baseline", "ratio", "target"),
    ("---", "---:", "---:", "---:", "---"),
]


@dataclass
class Results:
    """Everything one run measured; run.py fills it in row by row."""

    polling: dict[str, Any] = field(default_factory=dict)
    growth: dict[str, Any] = field(default_factory=dict)
    journeys: dict[str, float] = field(default_factory=dict)
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    rendering: dict[str, float | None] = field(default_factory=dict)
    memory: tuple[dict[str, Any], list[Any], int] | None = None  # footprint's, bare key
    commands: list[Any] = field(default_factory=list)
    seconds: float = 0.0


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _at_least(ratio: float, target: float, unit: str = "") -> str:
    return f"≥ {target:g}{unit}, {_met(ratio >= target)}"


def _at_most(ratio: float, target: float, unit: str = "") -> str:
    return f"≤ {target:g}{unit}, {_met(ratio <= target)}"


# -- row 1 and row 3's screens ------------------------------------------------


def polling_rows(polling: dict[str, Any]) -> list[Row]:
    status, bare = polling["status"], polling["bare"]
    ratio = status.requests_per_second / bare.requests_per_second
    return [
        (
            "1. status poll, req/s",
            f"{status.requests_per_second:,.0f}",
            f"{bare.requests_per_second:,.0f} (bare view)",
            f"{ratio:.2f} (status/bare)",
            _at_least(ratio, 0.75),
        ),
        _latency_row("   status poll latency p50, ms (one connection)", status.p50_ms, bare.p50_ms),
        _latency_row("   status poll latency p99, ms (one connection)", status.p99_ms, bare.p99_ms),
    ]


def _latency_row(what: str, ours: float, baseline: float) -> Row:
    return (what, f"{ours:.1f}", f"{baseline:.1f}", f"{ours / baseline:.2f} (lower is better)", "")


# -- row 2 -----------------------------------------------------------------------

STEP_NAMES = {
    "issue": "the page that shows the code",
    "image": "its QR image (animated: the status poll with the frame the page draws)",
    "scan": "the phone opens the link (qrauth: notes the scan, 302 to the question)",
    "follow": "the phone follows to the question (qrauth only: no token in its URL)",
    "confirm": "Continue: signed in",
}
# qrauth's journeys, as the table names them: the default page first.
OUR_JOURNEYS = {
    "qrauth, animated": "animated code (the default)",
    "qrauth, plain image": "plain image (a browser without JavaScript)",
}


def journey_rows(journeys: dict[str, float], steps: dict[str, dict[str, float]]) -> list[Row]:
    """Journeys per second, then each step's ms beside django-sesame's; a
    step sesame's journey does not make has no baseline (qrauth's scan
    link redirects to its question, so its journey is one request longer)."""
    sesame, theirs_steps = journeys["sesame"], steps["sesame"]
    rows: list[Row] = []
    for flow, name in OUR_JOURNEYS.items():
        ours = journeys[flow]
        ratio = ours / sesame
        rows.append(
            (
                f"{_number(2, rows)} whole hand-off, journeys/s: {name}, "
                f"{len(steps[flow])} requests",
                f"{ours:.1f}",
                f"{sesame:.1f} (django-sesame + qrcode, {len(theirs_steps)} requests)",
                f"{ratio:.2f} (ours/sesame)",
                _at_least(ratio, 1.0),
            )
        )
    for flow, name in OUR_JOURNEYS.items():
        for step, what in STEP_NAMES.items():
            mine = steps[flow][step]
            if step in theirs_steps:
                rows.append(
                    _latency_row(f"   {name}, {step}: {what}, ms", mine, theirs_steps[step])
                )
            else:
                rows.append(
                    (f"   {name}, {step}: {what}, ms", f"{mine:.1f}", "none (no such step)", "", "")
                )
        mine, theirs = sum(steps[flow].values()), sum(theirs_steps.values())
        rows.append(
            (
                f"   {name}, all {len(steps[flow])} requests, ms",
                f"{mine:.1f}",
                f"{theirs:.1f} ({len(theirs_steps)} requests)",
                f"{mine / theirs:.2f} (lower is better)",
                "",
            )
        )
    return rows


# -- row 3 -----------------------------------------------------------------------


def rendering_rows(render: dict[str, float | None], polling: dict[str, Any]) -> list[Row]:
    speed_up = render["qrcode"] / render["ours"]
    rows: list[Row] = [
        (
            "3. PNG of one frame, ms (best of 7)",
            f"{render['ours']:.2f} (render_png)",
            f"{render['qrcode']:.2f} (qrcode.make + save)",
            f"{speed_up:.1f}x faster",
            _at_least(speed_up, 5, "x"),
        )
    ]
    if render["browser"] is not None:
        rows.append(
            (
                "   frame matrix in the browser (qrcode.js, Node), ms",
                f"{render['browser']:.3f}",
                "",
                "",
                "",
            )
        )
    status, bare = polling["status"], polling["bare"]
    rows.append(
        (
            "   waiting screens held at one poll per second (gunicorn on 1 CPU)",
            f"{status.requests_per_second:,.0f}",
            f"{bare.requests_per_second:,.0f} (bare view)",
            f"{status.requests_per_second / bare.requests_per_second:.2f}",
            "",
        )
    )
    return rows


# -- row 4 -----------------------------------------------------------------------


def memory_rows(usages: dict[str, Any], growths: list[Any], bare_key: int) -> list[Row]:
    """MEMORY USAGE of each largest state, then INFO growth of each flow,
    beside the least any key costs (a one-byte string under a key as long)."""
    baseline = f"{bare_key} (a 1-byte string key)"
    rows: list[Row] = []
    for name, usage in usages.items():
        counters = " + ".join(f"{size} {limit}" for limit, size in usage.counters) or "none"
        rows.append(
            (
                f"{_number(4, rows)} Redis memory of an open {name} order, MEMORY USAGE, bytes",
                f"{usage.order_bytes} (the counters its issue made: {counters})",
                baseline,
                f"{usage.order_bytes / bare_key:.1f}",
                "",
            )
        )
    for growth in growths:
        rows.append(
            (
                f"   INFO memory growth over {growth.count:,} open {growth.flow} orders, "
                "bytes per order",
                f"{growth.order_bytes:.0f} ({growth.with_counters:.0f} with 2 new counters each)",
                baseline,
                f"{growth.order_bytes / bare_key:.1f}",
                _at_most(growth.order_bytes, 512, " bytes"),
            )
        )
    return rows


def _number(row: int, rows: list[Row]) -> str:
    """The row's number on its first line only."""
    return "  " if rows else f"{row}."


# -- row 6 -----------------------------------------------------------------------


def command_rows(rows: list[Any]) -> list[Row]:
    """Commands each request sent, and in how many round trips, against the
    bare view's one GET; what its scripts ran inside Redis is said beside."""
    table: list[Row] = []
    for row in rows:
        trips = "" if row.round_trips is None else f" in {row.round_trips} round trip"
        table.append(
            (
                f"{_number(6, table)} Redis commands per request: {row.flow}, {row.endpoint}",
                f"{row.client_commands}{trips} (scripts ran {row.script_commands})",
                "1 (bare view: GET)",
                f"{row.client_commands:.1f}",
                _round_trips_target(row),
            )
        )
    return table


def _round_trips_target(row: Any) -> str:
    if row.round_trips is None:
        return ""
    return f"1 round trip, {_met(row.round_trips == 1)}"


# -- row 5 -----------------------------------------------------------------------


def growth_rows(growth: dict[str, Any]) -> list[Row]:
    (few_name, few), (many_name, many) = growth.items()
    slowdown = few.requests_per_second / many.requests_per_second
    p50 = many.p50_ms / few.p50_ms
    return [
        (
            f"5. status poll with {many_name} orders, req/s",
            f"{many.requests_per_second:,.0f}",
            f"{few.requests_per_second:,.0f} ({few_name})",
            f"{slowdown:.2f} (fewer/more)",
            _at_most(slowdown, 1.1),
        ),
        (
            f"   p50 latency with {many_name}, ms (one connection)",
            f"{many.p50_ms:.1f}",
            f"{few.p50_ms:.1f} ({few_name})",
            f"{p50:.2f} (more/fewer)",
            _at_most(p50, 1.1),
        ),
        (
            f"   p99 latency with {many_name}, ms (one connection)",
            f"{many.p99_ms:.1f}",
            f"{few.p99_ms:.1f} ({few_name})",
            f"{many.p99_ms / few.p99_ms:.2f} (more/fewer)",
            "",
        ),
    ]


# -- the whole table -------------------------------------------------------------


def table(results: Results, settings: str) -> str:
    rows = [
        *HEADER,
        *polling_rows(results.polling),
        *journey_rows(results.journeys, results.steps),
        *rendering_rows(results.rendering, results.polling),
        *memory_rows(*results.memory),
        *growth_rows(results.growth),
        *command_rows(results.commands),
    ]
    text = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    notes = f"{settings} Code measured: {_revision()}. Total time {results.seconds:.0f} s."
    return f"{text}\n\n{notes}\n"


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
