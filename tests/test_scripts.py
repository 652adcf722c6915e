"""Every Lua script of qrauth/store/scripts.py, called directly, table by table.

Each row writes an order as a raw hash (or none: "gone"), runs one script
with its arguments by name (the clock too: ``now`` and ``now_ms`` are
passed, never read), and checks the reply and what Redis holds afterwards.
The rows follow each script's contract (the comment at the top of its
file): the time window of an animated frame, static codes, flows, states,
bindings, claimers, the minimum interval between polls, counters.

Beside the tables: a missing or unknown argument is refused before Redis is
asked; each script's source has its includes resolved and an ``ARG`` of
exactly its ARGV line; and every script file has a table here (TABLES).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from qrauth import store
from qrauth.model import Flow, State
from qrauth.store import scripts
from qrauth.store.client import Connection
from qrauth.store.keys import order_key

pytestmark = pytest.mark.usefixtures("qr_redis")

KEY = order_key("the-order-under-test")
COUNTER = "qrauth:limit:test:{someone}"
LIFETIME = 300  # seconds an order written here lives

NOW = 1_800_000_000  # the wall clock, seconds, as the scripts are told it
NOW_MS = NOW * 1000
AGE = 20  # the order was created this many seconds before NOW
CREATED = NOW - AGE
TOLERANCE = 12

BINDING = "binding-of-the-issuing-browser"
OTHER_BINDING = "binding-of-another-browser"
CLAIMER = "claim-of-this-phone"
OTHER_CLAIMER = "claim-of-another-phone"
DEVICE = "Safari on iOS"
ADDRESS = "198.51.100.7"
USER = "7"
SEAL = "seal-of-the-approved-sign-in"

HANDOFF, APPROVE = Flow.HANDOFF, Flow.APPROVE
P, S, A, C, X = State.PENDING, State.SCANNED, State.APPROVED, State.CONSUMED, State.CANCELLED
N, W, R = State.DENIED, State.WRONG_NUMBER, State.REFUSED
Q, G = State.ASKING_DESKTOP, State.ALLOWED

# -- which scripts have a table ------------------------------------------------------

TABLES: dict[str, int] = {}  # script name -> rows over all its tables


def table(name: str, rows: list[Any]) -> list[Any]:
    """Rows for pytest.mark.parametrize, noted as a table of script ``name``.
    A row is (id, *values), or a pytest.param of its own (marks)."""
    assert name in scripts.SCRIPTS, name
    TABLES[name] = TABLES.get(name, 0) + len(rows)
    return [pytest.param(*row[1:], id=row[0]) if type(row) is tuple else row for row in rows]


# -- orders, as raw hashes -----------------------------------------------------------

HANDOFF_FIELDS = {"t": str(CREATED), "b": BINDING, "u": USER, "a": "auth-of-7", "k": "issuer"}
HANDOFF_FIELDS |= {"z": "seal-of-the-issue", "e": str(CREATED)}
APPROVE_FIELDS = {"t": str(CREATED), "b": BINDING, "r": "Firefox on Linux", "i": "203.0.113.9"}
APPROVE_FIELDS |= {"n": ""}
APPROVAL_FIELDS = ("u", "a", "z", "e")  # what only an approval writes


def order(flow: Flow = HANDOFF, state: State = P, **fields: Any) -> dict[str, str]:
    """An order's hash as text, its one-letter fields as qrauth/store/scripts.py says."""
    base = HANDOFF_FIELDS if flow is HANDOFF else APPROVE_FIELDS
    extra = {name: str(value) for name, value in fields.items()}
    return {"f": flow.letter, "s": state.letter, **base, **extra}


def as_stored(value: Any) -> str:
    """A value as Redis holds it: a flow or a state as its letter."""
    return value.letter if isinstance(value, (Flow, State)) else str(value)


def changed(fields: dict[str, str] | None, **new: Any) -> dict[str, str] | None:
    """``fields`` with some replaced (states and flows as their letters)."""
    if fields is None:
        return None
    return {**fields, **{name: as_stored(value) for name, value in new.items()}}


def write(client, fields: dict[str, str] | None) -> None:
    if fields is not None:
        client.hset(KEY, mapping=fields)
        client.expire(KEY, LIFETIME)


def stored(client, key: str = KEY) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in client.hgetall(key).items()}


def assert_stored(client, expected: dict[str, str] | None) -> None:
    """What Redis holds at KEY: ``expected`` with its expiry kept, or no key."""
    if expected is None:
        assert not client.exists(KEY)
        return
    assert stored(client) == {name: str(value) for name, value in expected.items()}
    assert 0 < client.ttl(KEY) <= LIFETIME


def run(script: scripts.Script, key: str = KEY, **args: Any) -> Any:
    return store.default.run(script, key, **args)


def with_ok(fields: dict[str, str] | None, ok: bool) -> dict[str, str] | None:
    """The reply of lib/order.lua's reply(): the fields, and ok."""
    return None if fields is None else {**fields, "ok": "1" if ok else "0"}


# -- scan tokens: what lib/usable.lua reads ------------------------------------------


def frame(flow: Flow, elapsed: int, vouched=False, now=NOW, tolerance=TOLERANCE) -> dict:
    """An animated frame, ``elapsed`` seconds after the order was created."""
    return {
        "elapsed": elapsed,
        "now": now,
        "tolerance": tolerance,
        "vouched": vouched,
        "flow": flow,
    }


def static(flow: Flow, vouched=False) -> dict:
    """The static code (no frame)."""
    return {**frame(flow, 0, vouched), "elapsed": ""}


class Case(NamedTuple):
    id: str
    order: dict[str, str] | None  # None: gone
    token: dict[str, Any]
    usable: bool


def window_cases(flow: Flow) -> list[Case]:
    """Whether a token of ``flow`` may use an order (lib/usable.lua)."""
    other = APPROVE if flow is HANDOFF else HANDOFF
    fresh = order(flow)
    cases = [
        Case("frame-of-now", fresh, frame(flow, AGE), True),
        Case("frame-one-second-ahead", fresh, frame(flow, AGE + 1), True),
        Case("frame-two-seconds-ahead", fresh, frame(flow, AGE + 2), False),
        Case("frame-as-old-as-the-tolerance", fresh, frame(flow, AGE - TOLERANCE), True),
        Case("frame-older-than-the-tolerance", fresh, frame(flow, AGE - TOLERANCE - 1), False),
        Case("old-frame-vouched", fresh, frame(flow, AGE - TOLERANCE - 1, vouched=True), True),
        Case("future-frame-vouched", fresh, frame(flow, AGE + 5, vouched=True), True),
        Case("frame-of-the-first-second", fresh, frame(flow, 0, tolerance=AGE), True),
        Case("frame-past-a-narrower-tolerance", fresh, frame(flow, AGE - 5, tolerance=4), False),
        Case("frame-used-later", fresh, frame(flow, AGE, now=NOW + TOLERANCE + 1), False),
        Case("static-minted", order(flow, m=1), static(flow), flow is HANDOFF),
        Case("static-minted-vouched", order(flow, m=1), static(flow, True), flow is HANDOFF),
        Case("static-not-minted", fresh, static(flow), False),
        Case("static-not-minted-vouched", fresh, static(flow, vouched=True), False),
        Case("static-minted-0", order(flow, m=0), static(flow), False),
        Case("frame-for-another-flow", order(other), frame(flow, AGE), False),
        Case("vouched-for-another-flow", order(other), frame(flow, AGE, vouched=True), False),
        Case("static-for-another-flow", order(other, m=1), static(flow), False),
        Case("gone", None, frame(flow, AGE), False),
        Case("gone-static", None, static(flow), False),
    ]
    for state in State:
        if state is not P:
            usable = state in State.OPEN
            cases.append(
                Case(f"{state}-frame-of-now", order(flow, state), frame(flow, AGE), usable)
            )
    cases.append(Case("cancelled-vouched", order(flow, X), frame(flow, AGE, vouched=True), False))
    cases.append(Case("consumed-static-minted", order(flow, C, m=1), static(flow), False))
    return cases


def window_rows(name: str, *flows: Flow) -> list[Any]:
    rows = [(f"{flow}-{case.id}", case) for flow in flows for case in window_cases(flow)]
    return table(name, rows)


# -- SCAN, PEEK, CONSUME, ASK_DESKTOP, DECLINE, DECIDE: the time window ---------------


@pytest.mark.parametrize("case", window_rows("scan", HANDOFF, APPROVE))
def test_scan_notes_the_device_of_a_usable_token(qr_redis, case):
    write(qr_redis, case.order)
    reply = run(scripts.SCAN, **case.token, device=DEVICE, viewer="")
    after = changed(case.order, s=S, d=DEVICE) if case.usable else case.order
    assert scripts.pairs(reply) == with_ok(after, case.usable)
    assert_stored(qr_redis, after)


@pytest.mark.parametrize(
    "fields, token, viewer, noted",
    table(
        "scan",
        [
            ("approve-viewer-noted", order(APPROVE), frame(APPROVE, AGE), "phone-session", True),
            ("approve-no-viewer", order(APPROVE), frame(APPROVE, AGE), "", False),
            (
                "approve-viewer-replaced",
                order(APPROVE, S, v="old"),
                frame(APPROVE, AGE),
                "new",
                True,
            ),
            (
                "approve-stale-viewer-ignored",
                order(APPROVE),
                frame(APPROVE, 0),
                "phone-session",
                False,
            ),
            ("handoff-viewer-ignored", order(HANDOFF), frame(HANDOFF, AGE), "phone-session", False),
        ],
    ),
)
def test_scan_notes_the_viewer_of_a_usable_approve_order(qr_redis, fields, token, viewer, noted):
    write(qr_redis, fields)
    run(scripts.SCAN, **token, device=DEVICE, viewer=viewer)
    assert stored(qr_redis).get("v") == (viewer if noted else fields.get("v"))


@pytest.mark.parametrize("case", window_rows("peek", HANDOFF, APPROVE))
def test_peek_answers_like_scan_and_changes_nothing(qr_redis, case):
    write(qr_redis, case.order)
    before = (qr_redis.hgetall(KEY), qr_redis.dump(KEY), qr_redis.ttl(KEY))
    reply = run(scripts.PEEK, **case.token)
    assert scripts.pairs(reply) == with_ok(case.order, case.usable)
    assert (qr_redis.hgetall(KEY), qr_redis.dump(KEY), qr_redis.ttl(KEY)) == before
    assert_stored(qr_redis, case.order)


@pytest.mark.parametrize("case", window_rows("consume", HANDOFF))
def test_consume_uses_up_an_order_its_token_may_use(qr_redis, case):
    write(qr_redis, case.order)
    reply = run(scripts.CONSUME, **case.token, device=DEVICE)
    after = changed(case.order, s=C, d=DEVICE) if case.usable else case.order
    assert scripts.pairs(reply) == (with_ok(after, True) if case.usable else None)
    assert_stored(qr_redis, after)


def test_consume_succeeds_once(qr_redis):
    write(qr_redis, order(HANDOFF, m=1))
    assert run(scripts.CONSUME, **static(HANDOFF), device=DEVICE) is not None
    assert run(scripts.CONSUME, **static(HANDOFF), device="another phone") is None
    assert stored(qr_redis)["d"] == DEVICE


@pytest.mark.parametrize("case", window_rows("ask_desktop", HANDOFF))
def test_ask_desktop_claims_an_order_its_token_may_use(qr_redis, case):
    write(qr_redis, case.order)
    args = {"device": DEVICE, "claimer": CLAIMER, "address": ADDRESS}
    reply = run(scripts.ASK_DESKTOP, **case.token, **args)
    after = case.order
    if case.usable:
        after = changed(case.order, s=Q, d=DEVICE, c=CLAIMER, i=ADDRESS)
    assert scripts.pairs(reply) == (with_ok(after, True) if case.usable else None)
    assert_stored(qr_redis, after)


@pytest.mark.parametrize("case", window_rows("decline", HANDOFF))
def test_decline_cancels_an_order_its_token_may_use(qr_redis, case):
    write(qr_redis, case.order)
    assert run(scripts.DECLINE, **case.token) == int(case.usable)
    assert_stored(qr_redis, changed(case.order, s=X) if case.usable else case.order)


def decide(token: dict, approve=True, number_ok=True, claimer=CLAIMER) -> dict[str, str]:
    """DECIDE's reply, decoded: outcome and state."""
    answer = {"approve": approve, "number_ok": number_ok, "claimer": claimer, "device": DEVICE}
    answer |= {"user": "8", "auth": "auth-of-8", "seal": SEAL, "decided": NOW}
    return scripts.pairs(run(scripts.DECIDE, **token, **answer))


def decided(fields: dict[str, str], state: State) -> dict[str, str]:
    """An order as DECIDE leaves it when this phone's answer is ``state``."""
    after = changed(fields, s=state, c=CLAIMER, d=DEVICE)
    if state is A:
        after |= {"u": "8", "a": "auth-of-8", "z": SEAL, "e": str(NOW)}
    return after


@pytest.mark.parametrize("case", window_rows("decide", APPROVE))
def test_decide_answers_an_order_its_token_may_use(qr_redis, case):
    write(qr_redis, case.order)
    answer = decide(case.token)
    if case.usable:
        assert answer == {"outcome": "decided", "state": A.letter, **asked(case.order)}
        assert_stored(qr_redis, decided(case.order, A))
    else:
        same_flow = case.order and case.order["f"] == APPROVE.letter
        assert answer == {"outcome": "unusable", "state": case.order["s"] if same_flow else ""}
        assert_stored(qr_redis, case.order)


def asked(fields: dict) -> dict:
    """What a decided answer says of the browser that asked, for the record."""
    return {"requester": fields.get("r", ""), "requester_ip": fields.get("i", "")}


# -- DECIDE: the outcomes ---------------------------------------------------------------


# What the phone answers: (approve, the number typed is its own).
ANSWERS = {
    "approve": (True, True),
    "deny": (False, True),
    "approve-wrong-number": (True, False),
    "deny-wrong-number": (False, False),
}


@pytest.mark.parametrize(
    "fields, answer, outcome, state",
    table(
        "decide",
        [
            ("approve", order(APPROVE), "approve", "decided", A),
            ("deny", order(APPROVE), "deny", "decided", N),
            ("approve-scanned", order(APPROVE, S, v="viewer"), "approve", "decided", A),
            ("approve-matching", order(APPROVE, n=1), "approve", "decided", A),
            ("approve-matching-wrong", order(APPROVE, n=1), "approve-wrong-number", "decided", W),
            ("deny-matching-wrong", order(APPROVE, n=1), "deny-wrong-number", "decided", N),
            ("approve-not-matching", order(APPROVE), "approve-wrong-number", "decided", A),
            ("answered-here", order(APPROVE, A, c=CLAIMER), "approve", "mine", A),
            ("denied-here", order(APPROVE, N, c=CLAIMER), "approve", "mine", N),
            ("answered-here-long-ago", order(APPROVE, A, c=CLAIMER, t=0), "deny", "mine", A),
            ("answered-elsewhere", order(APPROVE, A, c=OTHER_CLAIMER), "approve", "taken", A),
            ("wrong-number-elsewhere", order(APPROVE, W, c=OTHER_CLAIMER), "deny", "taken", W),
            ("answered-then-cancelled", order(APPROVE, X, c=OTHER_CLAIMER), "deny", "taken", X),
            ("cancelled-unanswered", order(APPROVE, X), "approve", "unusable", X),
            ("consumed-unanswered", order(APPROVE, C), "approve", "unusable", C),
            ("handoff-order", order(HANDOFF), "approve", "unusable", ""),
            ("gone", None, "approve", "unusable", ""),
            # A hand-off order a phone claimed (asking its desktop) is no
            # approve order to answer, claimed or not.
            ("handoff-order-claimed", order(HANDOFF, Q, c=CLAIMER), "approve", "unusable", ""),
        ],
    ),
)
def test_decide_outcomes(qr_redis, fields, answer, outcome, state):
    write(qr_redis, fields)
    approve, number_ok = ANSWERS[answer]
    reply = decide(frame(APPROVE, AGE), approve=approve, number_ok=number_ok)
    told = asked(fields) if outcome == "decided" else {}
    assert reply == {"outcome": outcome, "state": as_stored(state), **told}
    assert_stored(qr_redis, decided(fields, state) if outcome == "decided" else fields)
    if outcome == "decided" and state is not A:
        assert not set(APPROVAL_FIELDS) & set(stored(qr_redis))


def test_decide_first_answer_is_final(qr_redis):
    write(qr_redis, order(APPROVE))
    first = decide(frame(APPROVE, AGE), approve=False)
    assert first == {"outcome": "decided", "state": "n", **asked(order(APPROVE))}
    assert decide(frame(APPROVE, AGE)) == {"outcome": "mine", "state": "n"}
    assert decide(frame(APPROVE, AGE), claimer=OTHER_CLAIMER) == {"outcome": "taken", "state": "n"}
    assert_stored(qr_redis, decided(order(APPROVE), N))


# -- STATUS and CLAIMER_STATUS: polls --------------------------------------------------


class Poller(NamedTuple):
    script: scripts.Script
    who: str  # the argument naming the poller
    field: str  # the order's field it is compared with
    last_poll: str  # the order's field of the last poll let through
    fields: dict[str, str]  # an order it polls


POLLERS = {
    "status": Poller(scripts.STATUS, "binding", "b", "l", order(APPROVE, S, d=DEVICE)),
    "claimer_status": Poller(scripts.CLAIMER_STATUS, "claimer", "c", "y", order(HANDOFF, Q)),
}

POLL_ROWS = [
    # id, poller is the order's, last poll (ms before now), interval -> answer, wait, last after
    ("first-poll", True, None, 500, "ok", None, NOW_MS),
    ("after-the-interval", True, 500, 500, "ok", None, NOW_MS),
    ("long-after", True, 60_000, 500, "ok", None, NOW_MS),
    ("one-ms-early", True, 499, 500, "slow_down", 1, NOW_MS - 499),
    ("too-soon", True, 200, 500, "slow_down", 300, NOW_MS - 200),
    ("same-millisecond", True, 0, 500, "slow_down", 500, NOW_MS),
    ("poller-clock-behind", True, -1_000, 500, "ok", None, NOW_MS),
    ("no-interval", True, 0, 0, "ok", None, NOW_MS),
    ("no-interval-first-poll", True, None, 0, "ok", None, None),
    ("no-interval-keeps-last", True, 100, 0, "ok", None, NOW_MS - 100),
    ("another-poller", False, None, 500, "forbidden", None, None),
    ("another-poller-too-soon", False, 200, 500, "forbidden", None, NOW_MS - 200),
    ("gone", True, "gone", 500, None, None, None),
]


def poll_rows(name: str) -> list[Any]:
    return table(name, [(f"{name}-{row[0]}", name, *row[1:]) for row in POLL_ROWS])


@pytest.mark.parametrize(
    "poller_name, mine, ago, interval, answer, wait, last_after",
    poll_rows("status") + poll_rows("claimer_status"),
)
def test_polls(qr_redis, poller_name, mine, ago, interval, answer, wait, last_after):
    poller = POLLERS[poller_name]
    fields = None if ago == "gone" else {**poller.fields, poller.field: "the-poller"}
    if ago not in (None, "gone"):
        fields[poller.last_poll] = str(NOW_MS - ago)
    write(qr_redis, fields)
    who = "the-poller" if mine else "someone-else"
    args = {poller.who: who, "now_ms": NOW_MS, "interval": interval}
    reply = scripts.pairs(run(poller.script, **args))
    if answer is None:
        assert reply is None
        assert_stored(qr_redis, None)
        return
    assert reply["answer"] == answer
    if answer == "slow_down":
        assert reply == {"answer": "slow_down", "wait": str(wait)}
    if answer == "forbidden":
        assert reply == {"answer": "forbidden"}
    after = {name: value for name, value in fields.items() if name != poller.last_poll}
    if last_after is not None:
        after[poller.last_poll] = str(last_after)
    assert_stored(qr_redis, after)


def test_status_answers_the_order_as_the_browser_needs_it(qr_redis):
    fields = order(APPROVE, S, d=DEVICE, n=1, v="viewer")
    write(qr_redis, fields)
    reply = scripts.pairs(run(scripts.STATUS, binding=BINDING, now_ms=NOW_MS, interval=0))
    pttl = int(reply.pop("pttl"))
    assert 0 < pttl <= LIFETIME * 1000
    expected = {name: fields[name] for name in ("s", "t", "d", "n", "f", "i", "v")}
    assert reply == {"answer": "ok", **expected}


def test_status_answers_empty_fields_as_empty_text(qr_redis):
    write(qr_redis, order(HANDOFF))
    reply = scripts.pairs(run(scripts.STATUS, binding=BINDING, now_ms=NOW_MS, interval=0))
    assert {name: reply[name] for name in ("s", "f", "t")} == {
        "s": "p",
        "f": "h",
        "t": str(CREATED),
    }
    assert {name: reply[name] for name in ("d", "n", "i", "v")} == dict.fromkeys("dniv", "")


@pytest.mark.parametrize("state", [Q, G, C, N, X], ids=str)
def test_claimer_status_answers_state_and_pttl(qr_redis, state):
    write(qr_redis, order(HANDOFF, state, c=CLAIMER))
    reply = scripts.pairs(run(scripts.CLAIMER_STATUS, claimer=CLAIMER, now_ms=NOW_MS, interval=0))
    pttl = int(reply.pop("pttl"))
    assert 0 < pttl <= LIFETIME * 1000
    assert reply == {"answer": "ok", "state": state.letter}


def test_claimer_status_of_an_unclaimed_order_is_forbidden(qr_redis):
    write(qr_redis, order(HANDOFF))
    reply = run(scripts.CLAIMER_STATUS, claimer="", now_ms=NOW_MS, interval=500)
    assert scripts.pairs(reply) == {"answer": "forbidden"}
    assert_stored(qr_redis, order(HANDOFF))


# -- COLLECT, REFUSE, CANCEL: the issuing browser ----------------------------------------

APPROVED = order(APPROVE, A, c=CLAIMER, u="8", a="auth-of-8", z=SEAL, e=NOW)
COLLECTED = changed(APPROVED, s=C)


@pytest.mark.parametrize(
    "fields, binding, call, found, after",
    table(
        "collect",
        [
            ("approved-take", APPROVED, BINDING, "take", A, changed(APPROVED, s=C)),
            ("approved-look", APPROVED, BINDING, "look", A, APPROVED),
            ("collected-take-again", COLLECTED, BINDING, "take", C, COLLECTED),
            ("pending-take", order(APPROVE), BINDING, "take", P, order(APPROVE)),
            ("scanned-take", order(APPROVE, S), BINDING, "take", S, order(APPROVE, S)),
            ("denied-take", order(APPROVE, N), BINDING, "take", N, order(APPROVE, N)),
            ("wrong-number-take", order(APPROVE, W), BINDING, "take", W, order(APPROVE, W)),
            ("cancelled-take", order(APPROVE, X), BINDING, "take", X, order(APPROVE, X)),
            ("refused-take", order(APPROVE, R), BINDING, "take", R, order(APPROVE, R)),
            ("approved-another-browser", APPROVED, OTHER_BINDING, "take", "forbidden", APPROVED),
            ("approved-no-binding", APPROVED, "", "take", "forbidden", APPROVED),
            ("handoff-order", order(HANDOFF, G), BINDING, "take", "forbidden", order(HANDOFF, G)),
            ("gone", None, BINDING, "take", None, None),
        ],
    ),
)
def test_collect(qr_redis, fields, binding, call, found, after):
    write(qr_redis, fields)
    reply = scripts.pairs(run(scripts.COLLECT, binding=binding, take=call == "take"))
    if found is None:
        assert reply is None
    elif found == "forbidden":
        assert reply == {"answer": "forbidden"}
    else:
        assert reply == {"found": found.letter, **after}
    assert_stored(qr_redis, after)


def refuse_rows() -> list[Any]:
    rows = [(f"{state}", order(APPROVE, state), BINDING, state is C) for state in State]
    rows += [
        ("consumed-another-browser", order(APPROVE, C), OTHER_BINDING, False),
        ("consumed-no-binding", order(APPROVE, C), "", False),
        ("gone", None, BINDING, False),
    ]
    return table("refuse", rows)


@pytest.mark.parametrize("fields, binding, marked", refuse_rows())
def test_refuse_only_a_consumed_order(qr_redis, fields, binding, marked):
    write(qr_redis, fields)
    assert run(scripts.REFUSE, binding=binding) == int(marked)
    assert_stored(qr_redis, changed(fields, s=R) if marked else fields)


def cancel_rows() -> list[Any]:
    rows = []
    for flow in Flow:
        for state in State:
            cancels = state in State.CANCELLABLE
            rows.append((f"{flow}-{state}", order(flow, state), BINDING, cancels))
    rows += [
        ("pending-another-browser", order(HANDOFF), OTHER_BINDING, False),
        ("approved-another-browser", order(APPROVE, A), OTHER_BINDING, False),
        ("pending-no-binding", order(HANDOFF), "", False),
        ("gone", None, BINDING, False),
    ]
    return table("cancel", rows)


def test_cancellable_states_are_what_the_table_expects():
    assert State.CANCELLABLE == {P, S, A, Q, G}


@pytest.mark.parametrize("fields, binding, cancels", cancel_rows())
def test_cancel(qr_redis, fields, binding, cancels):
    write(qr_redis, fields)
    assert run(scripts.CANCEL, binding=binding) == int(cancels)
    assert_stored(qr_redis, changed(fields, s=X) if cancels else fields)


# -- DESKTOP_DECIDE and FINISH: hand-off with desktop confirmation ------------------------

ASKING = order(HANDOFF, Q, c=CLAIMER, d=DEVICE, i=ADDRESS)


def desktop_decide_rows() -> list[Any]:
    rows = [
        ("allow", ASKING, BINDING, True, CLAIMER, changed(ASKING, s=G, z=SEAL)),
        ("deny", ASKING, BINDING, False, CLAIMER, changed(ASKING, s=N)),
        ("allow-another-claimer", ASKING, BINDING, True, OTHER_CLAIMER, ASKING),
        ("deny-another-claimer", ASKING, BINDING, False, OTHER_CLAIMER, ASKING),
        ("allow-another-browser", ASKING, OTHER_BINDING, True, CLAIMER, ASKING),
        ("deny-another-browser", ASKING, OTHER_BINDING, False, CLAIMER, ASKING),
        ("allow-unclaimed", order(HANDOFF, Q), BINDING, True, "", order(HANDOFF, Q)),
        ("gone", None, BINDING, True, CLAIMER, None),
    ]
    for state in State:
        if state is not Q:
            fields = changed(ASKING, s=state)
            rows.append((f"allow-{state}", fields, BINDING, True, CLAIMER, fields))
    return table("desktop_decide", rows)


@pytest.mark.parametrize("fields, binding, allow, claimer, after", desktop_decide_rows())
def test_desktop_decide(qr_redis, fields, binding, allow, claimer, after):
    write(qr_redis, fields)
    args = {"binding": binding, "allow": allow, "claimer": claimer, "seal": SEAL}
    assert run(scripts.DESKTOP_DECIDE, **args) == int(after != fields)
    assert_stored(qr_redis, after)


def finish_rows() -> list[Any]:
    allowed = changed(ASKING, s=G, z=SEAL)
    rows = [
        ("allowed", allowed, CLAIMER, True),
        ("allowed-another-claimer", allowed, OTHER_CLAIMER, False),
        ("allowed-no-claimer", allowed, "", False),
        ("gone", None, CLAIMER, False),
    ]
    rows += [
        (f"{state}", changed(allowed, s=state), CLAIMER, False) for state in State if state != G
    ]
    return table("finish", rows)


@pytest.mark.parametrize("fields, claimer, finishes", finish_rows())
def test_finish(qr_redis, fields, claimer, finishes):
    write(qr_redis, fields)
    reply = scripts.pairs(run(scripts.FINISH, claimer=claimer))
    after = changed(fields, s=C) if finishes else fields
    assert reply == (with_ok(after, True) if finishes else None)
    assert_stored(qr_redis, after)


def test_finish_once(qr_redis):
    write(qr_redis, changed(ASKING, s=G))
    assert run(scripts.FINISH, claimer=CLAIMER) is not None
    assert run(scripts.FINISH, claimer=CLAIMER) is None


# -- PICTURE: the plain image ------------------------------------------------------------


def picture_rows() -> list[Any]:
    rows = [
        ("handoff", order(HANDOFF), BINDING, USER, True),
        ("handoff-scanned", order(HANDOFF, S), BINDING, USER, True),
        ("handoff-minted-again", order(HANDOFF, m=1), BINDING, USER, True),
        ("handoff-another-browser", order(HANDOFF), OTHER_BINDING, USER, False),
        ("handoff-another-user", order(HANDOFF), BINDING, "8", False),
        ("handoff-no-user", order(HANDOFF), BINDING, "", False),
        ("approve", order(APPROVE), BINDING, "", True),
        ("approve-scanned", order(APPROVE, S), BINDING, "", True),
        ("approve-scanned-anonymously", order(APPROVE, S, v=""), BINDING, "", True),
        ("approve-looked-at", order(APPROVE, S, v="viewer"), BINDING, "", False),
        ("handoff-looked-at", order(HANDOFF, S, v="viewer"), BINDING, USER, True),
        ("approve-pending-with-a-viewer", order(APPROVE, P, v="viewer"), BINDING, "", True),
        ("approve-with-a-user", order(APPROVE), BINDING, USER, False),
        ("approve-another-browser", order(APPROVE), OTHER_BINDING, "", False),
        ("gone", None, BINDING, USER, False),
    ]
    for flow in Flow:
        user = USER if flow is HANDOFF else ""
        rows += [
            (f"{flow}-{s}", order(flow, s), BINDING, user, False)
            for s in State
            if s not in State.OPEN
        ]
    return table("picture", rows)


@pytest.mark.parametrize("fields, binding, user, shown", picture_rows())
def test_picture(qr_redis, fields, binding, user, shown):
    write(qr_redis, fields)
    created = run(scripts.PICTURE, binding=binding, user=user)
    assert created == (str(CREATED).encode() if shown else None)
    minted = shown and fields["f"] == HANDOFF.letter
    assert_stored(qr_redis, changed(fields, m=1) if minted else fields)


# -- ISSUE and DROP: an order stored, and deleted --------------------------------------


@pytest.mark.parametrize(
    "lifetime, fields",
    table(
        "issue",
        [
            ("handoff", 120, {"f": HANDOFF, "s": P, "u": USER, "t": CREATED, "b": BINDING}),
            ("approve", 60, {"f": APPROVE, "s": P, "t": CREATED, "b": BINDING, "n": ""}),
            ("one-second", 1, {"f": APPROVE, "s": P, "t": CREATED}),
        ],
    ),
)
def test_issue_sets_the_fields_and_the_lifetime(qr_redis, lifetime, fields):
    assert run(scripts.ISSUE, lifetime=lifetime, fields=fields) == 1
    assert stored(qr_redis) == {name: as_stored(value) for name, value in fields.items()}
    assert lifetime - 1 <= qr_redis.ttl(KEY) <= lifetime


@pytest.mark.parametrize(
    "fields, deleted",
    table("drop", [("an-order", order(), 1), ("gone", None, 0)]),
)
def test_drop(qr_redis, fields, deleted):
    write(qr_redis, fields)
    assert run(scripts.DROP) == deleted
    assert not qr_redis.exists(KEY)


# -- HIT and UNHIT: rate-limit counters ------------------------------------------------


@pytest.mark.parametrize(
    "count, ttl, window, expected",
    table(
        "hit",
        [
            ("first-starts-the-window", None, None, 60, (1, 60)),
            ("second-keeps-the-window", 1, 30, 60, (2, 30)),
            ("over-the-limit-keeps-the-window", 9, 5, 60, (10, 5)),
            ("after-a-give-back-to-zero", 0, 30, 60, (1, 60)),
        ],
    ),
)
def test_hit(qr_redis, count, ttl, window, expected):
    if count is not None:
        qr_redis.set(COUNTER, count, ex=ttl)
    counted = scripts.pairs(run(scripts.HIT, COUNTER, window=window))
    assert int(counted["count"]) == expected[0]
    assert expected[1] - 1 <= int(counted["ttl"]) <= expected[1]
    assert int(qr_redis.get(COUNTER)) == expected[0]
    assert expected[1] - 1 <= qr_redis.ttl(COUNTER) <= expected[1]


@pytest.mark.parametrize(
    "count, expected",
    table(
        "unhit",
        [
            ("two", 2, 1),
            ("one", 1, 0),
            ("zero-stays-zero", 0, 0),
            ("window-ended", None, 0),
        ],
    ),
)
def test_unhit(qr_redis, count, expected):
    if count is not None:
        qr_redis.set(COUNTER, count, ex=30)
    assert run(scripts.UNHIT, COUNTER) == expected
    if count is None:
        assert not qr_redis.exists(COUNTER)  # no counter without an end
    else:
        assert int(qr_redis.get(COUNTER)) == expected
        assert 29 <= qr_redis.ttl(COUNTER) <= 30


# -- STREAM_OPEN and STREAM_CLOSE: open event streams of one client ------------------

STREAMS = "qrauth:streams:{someone}"
NOW_MS = 1_800_000_000_000


@pytest.mark.parametrize(
    "open_until, most, expected, left",
    table(
        "stream_open",
        [
            ("first", [], 2, 0, ["new"]),
            ("under-the-most", [NOW_MS + 5000], 2, 0, ["old", "new"]),
            ("at-the-most-waits-for-the-soonest", [NOW_MS + 5000, NOW_MS + 9000], 2, 5000, None),
            ("an-ended-stream-counts-no-more", [NOW_MS - 1, NOW_MS + 9000], 2, 0, None),
        ],
    ),
)
def test_stream_open(qr_redis, open_until, most, expected, left):
    for index, until in enumerate(open_until):
        qr_redis.zadd(STREAMS, {"old" if index == 0 else f"old{index}": until})
    answer = run(
        scripts.STREAM_OPEN,
        STREAMS,
        stream="new",
        until_ms=NOW_MS + 60_000,
        now_ms=NOW_MS,
        most=most,
    )
    assert answer == expected
    members = [member.decode() for member in qr_redis.zrange(STREAMS, 0, -1)]
    if left is not None:
        assert members == left
    assert ("new" in members) is (expected == 0)
    if expected == 0:
        assert 59_000 <= qr_redis.pttl(STREAMS) <= 60_000


@pytest.mark.parametrize(
    "members, expected",
    table("stream_close", [("open", ["new", "other"], 1), ("not-counted", ["other"], 0)]),
)
def test_stream_close(qr_redis, members, expected):
    qr_redis.zadd(STREAMS, {member: NOW_MS for member in members})
    assert run(scripts.STREAM_CLOSE, STREAMS, stream="new") == expected
    assert [m.decode() for m in qr_redis.zrange(STREAMS, 0, -1)] == ["other"]


@pytest.mark.parametrize("script", scripts.SCRIPTS.values(), ids=lambda script: script.name)
def test_a_script_that_changes_a_state_announces_it(script):
    """Every change of an order's state reaches the waiting screens' streams."""
    changes = re.findall(r"HSET', KEYS\[1\], 's', (\S+?)[,)]", script.source)
    announced = re.findall(r"^\s*announce\((.+)\)$", script.source, re.MULTILINE)
    assert bool(changes) == bool(announced), (changes, announced)


# -- every script: arguments, source, and a table here ---------------------------------


def redis_must_not_be_asked():
    raise AssertionError("Redis was asked")


def all_arguments(script: scripts.Script) -> dict[str, Any]:
    return {arg: "x" for arg in script.args} | ({script.rest: {}} if script.rest else {})


@pytest.mark.parametrize("script", scripts.SCRIPTS.values(), ids=lambda script: script.name)
def test_a_missing_or_unknown_argument_is_refused_before_redis_is_asked(script):
    connection = Connection(build=redis_must_not_be_asked)
    named = all_arguments(script)
    wrong = [{**named, "bogus": "x"}]
    wrong += [{key: value for key, value in named.items() if key != arg} for arg in named]
    for arguments in wrong:
        with pytest.raises(TypeError, match=script.name):
            connection.run(script, KEY, **arguments)


LUA = Path(scripts.__file__).parent / "lua"


def argv_line(name: str) -> list[str]:
    """The names of the ARGV line of ``lua/<name>.lua``, ``...rest`` as ``rest``."""
    lua = (LUA / f"{name}.lua").read_text(encoding="utf-8")
    [line] = re.findall(r"^-- ARGV:(.*)$", lua, re.MULTILINE)
    return [arg.strip().removeprefix("...") for arg in line.split(",") if arg.strip()]


@pytest.mark.parametrize("script", scripts.SCRIPTS.values(), ids=lambda script: script.name)
def test_source_is_complete_and_names_its_arguments(script):
    lua = (LUA / f"{script.name}.lua").read_text(encoding="utf-8")
    for contract in ("-- KEYS[1]:", "-- ARGV:", "-- Returns:"):
        assert contract in lua
    assert "--#include" not in script.source
    for included in re.findall(r"^--#include (\w+)$", lua, re.MULTILINE):
        assert (LUA / "lib" / f"{included}.lua").read_text(encoding="utf-8") in script.source
    [arg_table] = re.findall(r"^local ARG = \{(.*)\}$", script.source, re.MULTILINE)
    names = re.findall(r"(\w+) = ", arg_table)
    assert names == argv_line(script.name)
    assert set(re.findall(r"\bARG\.(\w+)", script.source)) <= set(names)


def test_every_script_file_is_a_script():
    files = {path.stem for path in LUA.glob("*.lua")}
    assert files == set(scripts.SCRIPTS)


def test_every_script_has_a_table_here():
    assert set(TABLES) == set(scripts.SCRIPTS)
    assert all(TABLES.values())
