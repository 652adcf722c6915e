"""The issuing browser's steps: store an order, show its image, poll it,
call it off, and (approve) collect the sign-in; (hand-off with desktop
confirmation) allow or deny the phone that asked, which polls here too."""

from __future__ import annotations

import hmac
from typing import Any

from .. import clock, tokens
from ..conf import settings
from ..model import Collected, Flow, Issue, Order, OverLimit, State, Status
from . import counters, scripts
from .client import default
from .keys import order_key
from .records import DEVICE_MAX, order_from
from .scans import peek_order

HANDOFF = Flow.HANDOFF.letter  # what a seal says of the flow

__all__ = [
    "cancel_order",
    "claimer_status",
    "collect_order",
    "desktop_decides",
    "issue_approve_order",
    "issue_order",
    "order_status",
    "picture_created",
    "refuse_order",
]


def _issue(order_id: str, fields: dict[str, Any], issue: Issue | None) -> None:
    """All in one round trip: cancel the previous order, count the limits,
    store the order. Over a limit, the order is deleted again and its count
    given back to every limit that did not refuse it (a second round trip,
    only then), and OverLimit raised: a refused request is no order, and a
    flood refused to one client must not use up a limit it shares with
    others (the site's)."""
    issue = issue or Issue()
    calls = [counters.hit_call(limit) for limit in issue.limits]
    if issue.replaces:
        previous, previous_binding = issue.replaces
        argv = scripts.CANCEL.argv({"binding": previous_binding})
        calls.append((scripts.CANCEL, order_key(previous), argv))
    argv = scripts.ISSUE.argv({"lifetime": settings.EXPIRATION_TIME, "fields": fields})
    calls.append((scripts.ISSUE, order_key(order_id), argv))
    results = default.run_all(calls)[: len(issue.limits)]
    try:
        counters.check_hits(issue.limits, results)
    except OverLimit:
        give_back = counters.give_back_calls(issue.limits, results)
        default.run_all([*give_back, (scripts.DROP, order_key(order_id), [])])
        raise


def issue_order(
    order_id: str,
    user_id: Any,
    auth_digest: str,
    binding_digest: str,
    issuer: str,
    issue: Issue | None = None,
) -> None:
    """Store a new pending hand-off order that lives EXPIRATION_TIME seconds.

    ``issuer`` is the issuing browser's session key, sealed (see sessions.py).
    """
    created = clock.now()
    user = str(user_id)
    seal = tokens.order_seal(order_id, HANDOFF, user, auth_digest, "issued", created)
    fields = {"f": Flow.HANDOFF, "s": State.PENDING, "u": user, "a": auth_digest, "t": created}
    # No "e": a hand-off's seal is made when it is issued, "t" (records.py).
    _issue(order_id, {**fields, "b": binding_digest, "k": issuer, "z": seal}, issue)


def issue_approve_order(
    order_id: str,
    binding_digest: str,
    requester: str,
    requester_ip: str,
    number_matching: bool,
    issue: Issue | None = None,
) -> None:
    """Store a new pending approve order: an anonymous browser, described by
    ``requester`` and ``requester_ip``, asks a signed-in phone to sign it in.
    With ``number_matching`` the phone must type the number the requesting
    screen shows once that phone scanned (tokens.match_number)."""
    fields = {"f": Flow.APPROVE, "s": State.PENDING, "b": binding_digest, "t": clock.now()}
    asked = {"r": requester[:DEVICE_MAX], "i": requester_ip, "n": "1" if number_matching else ""}
    _issue(order_id, {**fields, **asked}, issue)


def picture_created(order_id: str, binding_digest: str, user_id: Any = "") -> int | None:
    """When the open order a plain QR image is asked for was created, or
    None: only its own browser may ask (for a hand-off order, only while
    signed in as its user). A hand-off's static code works from then on."""
    key = order_key(order_id)
    created = default.run(scripts.PICTURE, key, binding=binding_digest, user=str(user_id))
    return None if created is None else int(created)


def _poll(script: scripts.Script, order_id: str, paced: bool, **who: str) -> dict[str, str] | None:
    """Run a status script: None when the order is gone; LookupError when
    ``who`` is not the poller it wants; OverLimit when polled too soon
    (``paced``: a poll; an event stream's read, woken by a change, is not
    held to STATUS_INTERVAL, nor does it count as a poll)."""
    interval = round(settings.STATUS_INTERVAL * 1000) if paced else 0
    reply = default.run(
        script, order_key(order_id), **who, now_ms=clock.now_ms(), interval=interval
    )
    answer = scripts.pairs(reply)
    if answer is None:
        return None
    if answer["answer"] == "forbidden":
        raise LookupError("not this browser's order")
    if answer["answer"] == "slow_down":
        raise OverLimit(int(answer["wait"]) / 1000)
    return answer


def order_status(order_id: str, binding_digest: str, paced: bool = True) -> Status | None:
    """The issuing browser's view of its order, in one round trip. None when
    the order is gone (expired); raises LookupError for another browser,
    OverLimit for a poll sooner than STATUS_INTERVAL after the last."""
    found = _poll(scripts.STATUS, order_id, paced, binding=binding_digest)
    if found is None:
        return None
    return Status(
        state=State.from_letter(found["s"]),
        created=int(found["t"]),
        device=found["d"],
        expires_in=max(int(found["pttl"]), 0) / 1000,
        number=found["n"],
        flow=Flow.from_letter(found["f"]),
        address=found["i"],
        viewer=found["v"],
    )


def claimer_status(
    order_id: str, claimer: str, paced: bool = True
) -> tuple[State | None, float] | None:
    """(state, seconds left) for the phone that claimed the order; None when
    gone; raises LookupError for any other session, OverLimit for a poll
    sooner than STATUS_INTERVAL after the last."""
    found = _poll(scripts.CLAIMER_STATUS, order_id, paced, claimer=claimer)
    if found is None:
        return None
    return State.from_letter(found["state"]), max(int(found["pttl"]), 0) / 1000


def cancel_order(order_id: str, binding_digest: str) -> bool:
    """Cancel an open order, if ``binding_digest`` is its issuing browser's."""
    return bool(default.run(scripts.CANCEL, order_key(order_id), binding=binding_digest))


def collect_order(order_id: str, binding_digest: str, take: bool = True) -> Collected | None:
    """The issuing browser takes the approved sign-in, exactly once (or,
    with ``take`` False, only looks at it). None when the order is gone;
    raises LookupError for another browser."""
    reply = default.run(scripts.COLLECT, order_key(order_id), binding=binding_digest, take=take)
    found = scripts.pairs(reply)
    if found is None:
        return None
    if found.get("answer") == "forbidden":
        raise LookupError("not this browser's order")
    return Collected(State.from_letter(found["found"]), order_from(order_id, found))


def refuse_order(order_id: str, binding_digest: str) -> bool:
    """Mark a collected approve order as refused: the account may not sign
    in after all (its password changed, it was deactivated, the policy)."""
    return bool(default.run(scripts.REFUSE, order_key(order_id), binding=binding_digest))


def desktop_decides(
    order_id: str, binding_digest: str, allow: bool, user: tuple[Any, str]
) -> Order | None:
    """The issuing desktop, signed in as ``user`` (user id, auth digest),
    allows or denies the phone that asked: the order as it was asked (the
    phone's device and address), None when there was nothing to decide.
    An allow seals the order for that phone's session, read first (two
    round trips: the script refuses if another phone's claim came in
    between), and for the desktop's own user, whatever Redis says."""
    order = peek_order(order_id)
    if order is None or order.state != State.ASKING_DESKTOP:
        return None
    user_id, auth = str(user[0]), user[1]
    issued = tokens.order_seal(order_id, HANDOFF, user_id, auth, "issued", order.sealed_at)
    if allow and not hmac.compare_digest(issued.encode(), order.seal.encode()):
        return None  # not this desktop's order as it was issued: edited in Redis
    allows = f"allowed:{order.claimer}"
    seal = tokens.order_seal(order_id, HANDOFF, user_id, auth, allows, order.sealed_at)
    decided = default.run(
        scripts.DESKTOP_DECIDE,
        order_key(order_id),
        binding=binding_digest,
        allow=allow,
        claimer=order.claimer,
        seal=seal,
    )
    return order if decided else None
