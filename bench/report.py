"""The table ``make bench`` prints and writes to bench/results.md.

Each row: what is measured, our figure, the baseline measured in the same
run, the ratio of the two (which way is better is said in the row), and
the target with whether it was met.
"""

from __future__ import annotations

import math
import statistics
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
    push: Any = None  # push.PushResults, row 7
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


def unrecorded(flow_name: str) -> str:
    """The name of ``flow_name``'s journeys on the server that records no sign-in."""
    return f"{flow_name}, not recorded"


def recording_rows(journeys: dict[str, float]) -> list[Row]:
    """Each of qrauth's journeys with sign-ins on record against the same
    journey on a server that records none (AUTH_QR_CODE_RECORD_SIGNINS =
    False), in the same run: what recording costs."""
    rows: list[Row] = []
    for flow, name in OUR_JOURNEYS.items():
        recorded, not_recorded = journeys[flow], journeys[unrecorded(flow)]
        rows.append(
            (
                f"   {name}: sign-ins on record, against none recorded, journeys/s",
                f"{recorded:.1f}",
                f"{not_recorded:.1f} (AUTH_QR_CODE_RECORD_SIGNINS = False)",
                f"{recorded / not_recorded:.2f} (on record/none)",
                "",
            )
        )
    return rows


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
    rows += recording_rows(journeys)
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


# -- row 7 -----------------------------------------------------------------------


def _percentile(values: list[float], percent: float) -> float:
    """Nearest rank: a value that was measured."""
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)) - 1, 0)] if ordered else math.nan


def push_rows(push: Any) -> list[Row]:
    """Push against polling (bench/push.py): the sign-in's latency and the
    waiting page's requests, then the waiting screens one process holds,
    each beside polling measured in the same run."""
    return [*_push_sign_in_rows(push), *_push_capacity_rows(push)]


def _push_sign_in_rows(push: Any) -> list[Row]:
    ours, theirs = push.push, push.polling
    p50, their_p50 = _percentile(ours.latencies, 50), _percentile(theirs.latencies, 50)
    p95, their_p95 = _percentile(ours.latencies, 95), _percentile(theirs.latencies, 95)
    met = p95 <= 0.150 and p95 <= their_p95 / 5
    requests, their_requests = statistics.mean(ours.requests), statistics.mean(theirs.requests)
    per_second = statistics.mean(
        (count - 2) / waited for count, waited in zip(theirs.requests, theirs.waited, strict=True)
    )
    return [
        (
            f"7. push: phone approves -> waiting page knows, p50, ms ({len(ours.latencies)} "
            "sign-ins each way, at once)",
            f"{p50 * 1e3:.0f} (event stream)",
            f"{their_p50 * 1e3:.0f} (polling once a second)",
            f"{p50 / their_p50:.2f} (push/polling)",
            "",
        ),
        (
            "   push: phone approves -> waiting page knows, p95, ms",
            f"{p95 * 1e3:.0f}",
            f"{their_p95 * 1e3:.0f}",
            f"{p95 / their_p95:.2f} (push/polling)",
            f"≤ 150 ms and ≤ 0.2 of polling, {_met(met)}",
        ),
        (
            "   push: of which the approving POST's own time (the phone's answer), p50 / p95, ms",
            _p50_p95(ours.posts),
            _p50_p95(theirs.posts),
            "",
            "",
        ),
        (
            "   push: the waiting page knows before the phone has its answer, p50, ms",
            f"{_ahead(ours) * 1e3:.0f}",
            f"{_ahead(theirs) * 1e3:.0f}",
            "",
            "",
        ),
        (
            "   push: requests from the waiting page per sign-in (page, stream or polls, collect)",
            f"{requests:.1f} (at most {max(ours.requests)})",
            f"{their_requests:.1f} ({per_second:.2f} polls per second waited)",
            f"{requests / their_requests:.2f}",
            _at_most(max(ours.requests), 3),
        ),
    ]


def _p50_p95(seconds: list[float]) -> str:
    return f"{_percentile(seconds, 50) * 1e3:.0f} / {_percentile(seconds, 95) * 1e3:.0f}"


def _ahead(got: Any) -> float:
    """How long before the phone's POST answered the waiting page knew (median)."""
    return statistics.median(
        post - latency for post, latency in zip(got.posts, got.latencies, strict=True)
    )


def _push_capacity_rows(push: Any) -> list[Row]:
    found, bare, polled = push.capacity, push.bare, push.polled
    busy = found.steady_cpu_seconds / found.steady_seconds
    held = polled.requests_per_second
    late = _percentile(found.lateness, 99)
    in_time = sum(seconds <= 30 for seconds in found.reconnected)
    push_us, poll_us = found.cpu_per_screen_second * 1e6, polled.cpu_per_poll * 1e6
    frame_us, bare_us = found.cpu_per_frame * 1e6, bare.cpu_per_frame * 1e6
    after = found.database_files_after
    after = "not counted: screens still reconnecting" if after < 0 else after
    return [
        (
            f"   push: waiting screens open on one uvicorn process on one CPU (of "
            f"{found.wanted:,}, given {push.sizes.open_seconds:.0f} s), each a frame a second",
            f"{found.streams:,} ({100 * busy:.0f} % of the CPU once open)",
            f"{held:,.0f} (polls/s of gunicorn, 2 workers on 1 CPU: screens at 1 poll/s)",
            f"{found.streams / held:.1f}",
            _at_least(found.streams, 10_000, " screens"),
        ),
        (
            f"   push: frame lateness p99, ms ({len(found.lateness):,} frames in "
            f"{found.steady_seconds:.0f} s)",
            f"{late * 1e3:.0f} (p50 {_percentile(found.lateness, 50) * 1e3:.0f}, "
            f"max {max(found.lateness, default=math.nan) * 1e3:.0f}; "
            f"{found.pings:,} heartbeats)",
            f"{_percentile(bare.lateness, 99) * 1e3:.0f} (bare event stream, "
            f"{bare.streams:,} screens)",
            "",
            f"< 1000 ms, {_met(late < 1)}",
        ),
        (
            "   push: server CPU per frame sent, µs",
            f"{frame_us:.0f}",
            f"{bare_us:.0f} (bare event stream: middleware, session, a frame-sized event)",
            f"{frame_us / bare_us:.2f} (ours/bare)",
            "",
        ),
        (
            "   push: server memory per open stream, KB (RSS growth / streams)",
            f"{found.kb_per_screen:.1f}",
            f"{bare.kb_per_screen:.1f} (bare event stream)",
            f"{found.kb_per_screen / bare.kb_per_screen:.2f}",
            _at_most(found.kb_per_screen, 50, " KB"),
        ),
        (
            "   push: Redis subscriber connections (CLIENT LIST, sub > 0)",
            f"{found.subscribers} (after the restart: {found.subscribers_after})",
            "",
            "",
            f"exactly 1, {_met(found.subscribers == 1 and found.subscribers_after == 1)}",
        ),
        (
            "   push: SQLite files the server holds open, streams open",
            f"{found.database_files} (after the restart: {after})",
            "",
            "",
            f"0, {_met(found.database_files == 0 and found.database_files_after <= 0)}",
        ),
        (
            f"   push: server killed, of its {found.streams:,} screens served again within 30 s",
            f"{in_time:,} (the last after {max(found.reconnected, default=math.nan):.1f} s, p50 "
            f"{_percentile(found.reconnected, 50):.1f} s; {found.not_back:,} not back; "
            f"refused: {_refusals(found.refused)})",
            "",
            "",
            f"all within 30 s, {_met(in_time == found.streams == found.wanted)}",
        ),
        (
            "   push: server CPU per waiting screen per second, µs",
            f"{push_us:.0f}",
            f"{poll_us:.0f} (a status poll, gunicorn)",
            f"{push_us / poll_us:.2f} (push/polling)",
            "",
        ),
    ]


def _refusals(refused: dict[str, int]) -> str:
    return ", ".join(f"{count} {why}" for why, count in refused.items()) or "none"


def push_settings(push: Any) -> str:
    sizes = push.sizes
    return (
        "Row 7 (bench/push.py): one uvicorn process (uvloop, httptools) on CPU 0 serving "
        "the bench site's ASGI application (SQLite in WAL mode from this row on); the "
        "clients and redis-server on CPU 1. "
        f"Sign-ins: {sizes.sign_ins} pushed and {sizes.sign_ins} polled, "
        f"{push.sign_in_workers} at once, each worker alternating; the phone approves 0.5 to "
        "1.5 s after the number shows (typing it); latency from just before the approving "
        "POST to the waiting page's status saying approved. "
        f"Waiting screens: raw asyncio clients in {push.client_processes} processes, each "
        "screen its own database session and approve order, opened "
        f"{push.opening_at_once} at a time per process for at most {sizes.open_seconds:.0f} s; "
        f"{sizes.steady_seconds:.0f} s measured once open (the bare event stream: "
        f"{sizes.bare_streams:,} screens, {sizes.bare_seconds:.0f} s); lateness: the interval "
        "between a screen's frames less 1 s. Reconnects: SIGKILL, a new server on the same "
        "port; each screen waits its stream's retry: before each attempt. Polling baseline: "
        f"gunicorn, 2 sync workers on CPU 0, wrk -c32 round-robin over the same screens for "
        f"{sizes.poll_seconds} s. qrauth's settings and limits at their defaults; the clients "
        "connect from many loopback addresses (127.x.y.z), as screens of many networks."
    )


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
        *(push_rows(results.push) if results.push is not None else []),
    ]
    text = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    notes = f"{settings} Code measured: {_revision()}. Total time {results.seconds:.0f} s."
    if results.push is not None:
        notes += f"\n\n{push_settings(results.push)}"
    return f"{text}\n\n{notes}\n"


def push_table(push: Any) -> str:
    """Row 7 alone (``python bench/push.py``)."""
    rows = [*HEADER, *push_rows(push)]
    text = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    notes = f"{push_settings(push)} Code measured: {_revision()}. Time {push.seconds:.0f} s."
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
