"""Approve, the phone's side, step by step: a signed-in phone scans the
code on another screen, sees what it is about to sign in, and approves or
denies.

Done carelessly this is the easiest account takeover there is: an attacker
shows the victim a code from the attacker's own screen, the victim
approves, and the attacker is in (QRLJacking; "cross-device consent
phishing" in the IETF's cross-device flows BCP). So, before any button, the
page says what will be signed in where: the account, the requesting
browser and its address, how long ago the code appeared. With number
matching the phone must type a number shown on the requesting screen, so a
blind approval of a screen that is not in front of the user fails. The
number is derived from the phone session that looks at the code, so one
read off the screen before the victim's phone scanned is worthless; and
every code a phone can use is fresh for seconds only (an animated frame,
or the plain image's frame), so a code sent to a victim goes stale before
they act on it. The first phone session to answer claims the order, for
good.

GET and HEAD change nothing but the "scanned" mark (HEAD not even that).
"""

from __future__ import annotations

import logging

from django.http import HttpRequest

from .. import claims, scans, signals, store, tokens
from ..model import Decision, Flow, Order, State
from ..policy import user_may_use
from ..stepup import needs_step_up
from . import common
from .common import Outcome, device, invalid, invalid_token, stale

__all__ = ["answer_scan", "at_resume", "at_scan_url", "look_at_code"]

logger = logging.getLogger("qrauth.flows")

FLOW = Flow.APPROVE
_DECISIONS = {"approve": True, "deny": False}


def at_scan_url(request: HttpRequest, auth_code: str) -> Outcome:
    """The scan URL of an approve order: GET and HEAD look ("to_resume"; a
    GET keeps the scan in the scan cookie); only a POST from a signed-in
    phone answers (``_answer``)."""
    return common.at_scan_url(request, FLOW, auth_code, _scanned, _answer)


def at_resume(request: HttpRequest) -> Outcome:
    """The phone's page for the code it scanned last (the scan cookie): what
    would be signed in where ("details", with the ``order``), or why not.
    Also where a phone comes back after signing in or stepping up."""
    return common.at_last_scan(request, FLOW, _show, _answer)


def look_at_code(request: HttpRequest, auth_code: str) -> Outcome:
    """The JSON API's look at a code an app scanned: what the phone's page
    shows ("details", with the ``order`` and the scan's ``handle`` to answer
    with), or why not, as ``at_resume`` says it."""
    token = common.parse(auth_code)
    if token is None:
        return invalid(request, FLOW, None)
    shown = _show(request, token, auth_code)
    if shown.kind != "details" or request.method == "HEAD":  # a HEAD claims nothing
        return Outcome(shown.kind, {**shown.data, "handle": ""})
    handle = scans.scan_handle(token, claims.claimer_digest(request))
    return Outcome("details", {"order": shown.order, "handle": handle})


def answer_scan(request: HttpRequest, handle: str, action: str, number: str) -> Outcome:
    """The JSON API's Approve or Deny of the scan ``look_at_code`` handed
    out to this caller: as ``_answer``; "invalid" for a handle that is not
    this caller's."""
    if not request.user.is_authenticated:
        return Outcome("sign_in_first")
    scan = scans.handled_scan(handle, claims.claimer_digest(request))
    if scan is None:
        return invalid(request, FLOW, None)
    return _decide(request, scan[1], True, action, number)


def _scanned(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> Outcome:
    # A phone that saw this very frame fresh may open its link again later.
    vouched = scans.scan_vouched(request, auth_code)
    refused = _refusal(request, token, _read(request, token, vouched))
    if refused is not None:
        return refused
    if request.method == "GET":
        scans.remember_scan(request, token)
    return Outcome("to_resume")


def _read(
    request: HttpRequest, token: tokens.ScanToken, vouched: bool = False, viewer: str = ""
) -> Order | None:
    if request.method == "HEAD":  # looks, records nothing
        return store.peek_order(token.order_id, token, vouched, FLOW)
    return store.record_scan(token, device(request), vouched, FLOW, viewer)


def _refusal(request: HttpRequest, token: tokens.ScanToken, order: Order | None) -> Outcome | None:
    """Why this scan cannot answer the order, or None."""
    if order is None or order.flow != FLOW:
        return invalid_token(request, FLOW, token)
    if order.claimer:
        if claims.is_claimer(request, order.claimer):
            return Outcome("done", {"state": order.state})
        return Outcome("taken")
    if not order.is_open:
        return invalid(request, FLOW, order.ref)
    if not order.usable:
        return _unusable(request, token, order.ref)
    return None


def _unusable(request: HttpRequest, token: tokens.ScanToken, order_ref: str) -> Outcome:
    if token.elapsed is None:  # a static code whose image was never shown
        return invalid(request, FLOW, order_ref)
    return stale(request)


def _may_answer(request: HttpRequest) -> bool:
    """Whether this phone may answer now: signed in, allowed, stepped up."""
    if not request.user.is_authenticated or needs_step_up(request):
        return False
    return user_may_use(request, request.user, FLOW.value)


def _show(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> Outcome:
    # A phone that may answer is noted as the one looking, so the other
    # screen shows the number for this session; an anonymous or refused
    # look reveals no number and claims nothing. The secret this session
    # claims with is made now: two taps on Approve must not each make their
    # own and lose the claim to each other.
    looking = request.method == "GET" and _may_answer(request)
    viewer = claims.claimer_digest(request) if looking else ""
    order = _read(request, token, scans.scan_vouched(request, auth_code), viewer)
    refused = _refusal(request, token, order)
    if refused is not None:
        return refused
    if not request.user.is_authenticated:
        return Outcome("sign_in_first")
    if not user_may_use(request, request.user, FLOW.value):
        return Outcome("not_allowed")
    if needs_step_up(request):
        return Outcome("step_up")
    if request.method == "GET":
        signals.scanned.send(
            sender=FLOW.value,
            request=request,
            user=request.user,
            order_ref=order.ref,
            device=device(request),
        )
    return Outcome("details", {"order": order})


def _answer(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> Outcome:
    """The phone's Approve or Deny: "done" (with the ``state`` the order is
    in now), or "taken", "invalid", "stale", "sign_in_first", "bad_action",
    "not_allowed", "step_up_first"."""
    vouched = scans.scan_vouched(request, auth_code)
    action, number = request.POST.get("action", ""), request.POST.get("number", "")
    return _decide(request, token, vouched, action, number)


def _decide(
    request: HttpRequest, token: tokens.ScanToken, vouched: bool, action: str, number: str
) -> Outcome:
    if not request.user.is_authenticated:
        return Outcome("sign_in_first")
    approving = _DECISIONS.get(action)
    if approving is None:
        return Outcome("bad_action")
    if not user_may_use(request, request.user, FLOW.value):
        return Outcome("not_allowed")
    if needs_step_up(request):  # lending the account needs a fresh authentication
        return Outcome("step_up_first")
    user = (request.user.pk, tokens.auth_digest(request.user))
    decision = store.decide_order(
        token,
        claims.claimer_digest(request),
        approving,
        number.strip(),
        user,
        device(request),
        vouched,
    )
    ref = tokens.order_ref(token.order_id)
    if decision.outcome == "taken":
        logger.info("qrauth: order %s refused: claimed by another session", ref)
        return Outcome("taken")
    if decision.outcome == "mine":
        return Outcome("done", {"state": decision.state})
    if decision.outcome == "unusable":
        if decision.state in State.OPEN:
            return _unusable(request, token, ref)
        return invalid(request, FLOW, ref)
    _announce(request, decision, ref)
    # The scan cookie stays: Back to this page shows the answer again.
    return Outcome("done", {"state": decision.state})


def _announce(request: HttpRequest, decision: Decision, ref: str) -> None:
    kwargs = {"sender": FLOW.value, "request": request, "user": request.user, "order_ref": ref}
    state = decision.state
    if state == State.APPROVED:
        logger.info("qrauth: order %s approved", ref)
        signals.approved.send(**kwargs, device=device(request))
        return
    reason = "wrong_number" if state == State.WRONG_NUMBER else "denied"
    logger.info("qrauth: order %s denied: %s", ref, reason)
    asked = {"requester": decision.requester, "requester_ip": decision.requester_ip}
    signals.denied.send(**kwargs, device=device(request), reason=reason, **asked)
