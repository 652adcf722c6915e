"""The phone's steps with a scan token: look (GET, HEAD), use a hand-off
code, ask the desktop, finish, decline, and answer an approve order.

Every step checks in Redis, in the same script as its change, that the
token may use the order now (lua/lib/usable.lua): a HEAD too (PEEK), which
only looks.
"""

from __future__ import annotations

import hmac
from typing import Any

from .. import clock, tokens
from ..conf import settings
from ..model import Decision, Flow, Order, State
from . import scripts
from .client import default
from .keys import order_key
from .records import DEVICE_MAX, order_of_reply

__all__ = [
    "ask_desktop",
    "consume_order",
    "decide_order",
    "decline_order",
    "finish_order",
    "peek_order",
    "record_scan",
]

APPROVE = Flow.APPROVE.letter  # what a seal says of the flow


def _token(token: tokens.ScanToken, vouched: bool, flow: Flow) -> dict[str, Any]:
    """What lib/usable.lua reads of a token."""
    return {
        "elapsed": "" if token.elapsed is None else token.elapsed,
        "now": clock.now(),
        "tolerance": settings.FRAME_TOLERANCE,
        "vouched": vouched,
        "flow": Flow(flow),
    }


def _run(script: scripts.Script, token: tokens.ScanToken, **args: Any) -> Any:
    return default.run(script, order_key(token.order_id), **args)


def record_scan(
    token: tokens.ScanToken,
    device: str,
    vouched: bool = False,
    flow: Flow = Flow.HANDOFF,
    viewer: str = "",
) -> Order | None:
    """A GET of the scan URL: note the device if the token may use the
    order (``Order.usable``); never moves it past "scanned". ``viewer``:
    the digest of the signed-in phone session that looks at an approve
    order, whose number the requesting screen then shows."""
    args = _token(token, vouched, flow)
    reply = _run(scripts.SCAN, token, **args, device=device[:DEVICE_MAX], viewer=viewer)
    return order_of_reply(token.order_id, reply)


def peek_order(
    order_id: str,
    token: tokens.ScanToken | None = None,
    vouched: bool = False,
    flow: Flow = Flow.HANDOFF,
) -> Order | None:
    """Read an order without changing anything (a HEAD request); ``usable``
    says whether ``token`` (of ``flow``) could use it now."""
    token = token or tokens.ScanToken(order_id, None)
    reply = _run(scripts.PEEK, token, **_token(token, vouched, flow))
    return order_of_reply(order_id, reply)


def consume_order(token: tokens.ScanToken, device: str, vouched: bool = False) -> Order | None:
    """Use a hand-off order up; exactly one caller ever gets it back.
    ``vouched``: the phone's session saw this frame fresh at its GET."""
    args = _token(token, vouched, Flow.HANDOFF)
    return order_of_reply(
        token.order_id, _run(scripts.CONSUME, token, **args, device=device[:DEVICE_MAX])
    )


def ask_desktop(
    token: tokens.ScanToken, device: str, claimer: str, address: str, vouched: bool = False
) -> Order | None:
    """Hand-off with desktop confirmation: the phone's Continue claims the
    order for its session and asks the issuing desktop to allow it."""
    args = _token(token, vouched, Flow.HANDOFF)
    reply = _run(
        scripts.ASK_DESKTOP,
        token,
        **args,
        device=device[:DEVICE_MAX],
        claimer=claimer,
        address=address[:64],
    )
    return order_of_reply(token.order_id, reply)


def finish_order(order_id: str, claimer: str) -> Order | None:
    """The claiming phone uses up the order its desktop allowed, exactly once."""
    reply = default.run(scripts.FINISH, order_key(order_id), claimer=claimer)
    return order_of_reply(order_id, reply)


def decline_order(token: tokens.ScanToken, vouched: bool = False) -> bool:
    """The scanner says "this was not me": cancel the order the token may use."""
    return bool(_run(scripts.DECLINE, token, **_token(token, vouched, Flow.HANDOFF)))


def decide_order(
    token: tokens.ScanToken,
    claimer: str,
    approve: bool,
    number: str,
    user: tuple[Any, str],
    device: str,
    vouched: bool = False,
) -> Decision:
    """A signed-in phone approves or denies an approve order, and so claims
    it: the first answer is final, and no other session can answer after it.
    ``number`` is what the phone typed: it must be this session's own
    (tokens.match_number), else the answer is "wrong number".
    ``user`` is (user id, auth digest) of the phone's user."""
    expected = tokens.match_number(token.order_id, claimer)
    matches = hmac.compare_digest(number.encode(), expected.encode())
    user_id, auth, decided = str(user[0]), user[1], clock.now()
    allows = f"approved:{claimer}"
    seal = tokens.order_seal(token.order_id, APPROVE, user_id, auth, allows, decided)
    reply = _run(
        scripts.DECIDE,
        token,
        **_token(token, vouched, Flow.APPROVE),
        device=device[:DEVICE_MAX],
        claimer=claimer,
        approve=approve,
        number_ok=matches,
        user=user_id,
        auth=auth,
        seal=seal,
        decided=decided,
    )
    answer = scripts.pairs(reply)
    state = State.from_letter(answer["state"])
    asked = answer.get("requester", ""), answer.get("requester_ip", "")
    return Decision(answer["outcome"], state, *asked)
