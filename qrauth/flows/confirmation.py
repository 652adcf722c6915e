"""Hand-off with desktop confirmation (AUTH_QR_CODE_DESKTOP_CONFIRMATION),
step by step.

After the phone presses Continue, the desktop that shows the code is asked
"<device> at <address> asks to sign in as you: allow?", and the phone waits.
So a code that was photographed, or shown on a shared screen, signs no one
in unless the person at the desktop agrees. The phone's Continue claims the
order for its session: only that session can wait on it and finish it.
"""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest

from .. import claims, issuers, signals, store, tokens
from ..devices import client_ip
from ..model import Flow, State
from ..stepup import needs_step_up
from .common import Outcome, device, invalid_token, sign_in

__all__ = ["ask", "claimed_by", "claimed_status", "decide", "finish", "wait_status"]

logger = logging.getLogger("qrauth.flows")

FLOW = Flow.HANDOFF


def ask(request: HttpRequest, token: tokens.ScanToken, vouched: bool) -> Outcome:
    """The phone's Continue, when the desktop must confirm: claim and wait
    ("waiting", with ``order_id`` and ``state``), or "invalid"."""
    claimer = claims.claimer_digest(request)
    order = store.ask_desktop(token, device(request), claimer, client_ip(request), vouched)
    if order is None:
        return invalid_token(request, FLOW, token)
    if not request.user.is_authenticated:
        # A new session key for the claim (after it: a refused claim leaves
        # the session alone): a session planted on this phone beforehand
        # (session fixation) must not be able to finish it.
        request.session.cycle_key()
    logger.info("qrauth: order %s waits for its desktop", order.ref)
    return Outcome("waiting", {"order_id": token.order_id, "state": State.ASKING_DESKTOP})


def _order_id(auth_code: str) -> str:
    """The order a waiting phone asks about: its id (what the wait page
    uses: no token in the page), or a whole scan token."""
    if tokens.is_order_id(auth_code):
        return auth_code
    token = tokens.parse_scan_token(auth_code)
    if token is None:
        raise Http404("no such code")
    return token.order_id


def _claimer(request: HttpRequest) -> str:
    """This session's claim digest; 404 for a session that never claimed."""
    claimer = claims.existing_claimer_digest(request)
    if claimer is None:
        raise Http404("no such code")
    return claimer


def _claimed(order_id: str, claimer: str, paced: bool = True) -> tuple[State | None, float] | None:
    """(state, seconds left) of the order this session claimed; 404 if not its."""
    try:
        return store.claimer_status(order_id, claimer, paced)
    except LookupError:
        raise Http404("no such code") from None


def wait_status(request: HttpRequest, auth_code: str) -> tuple[State | None, float]:
    """(state, seconds left; None and 0 once gone) of the order this
    waiting phone claimed; 404 for any other session."""
    found = _claimed(_order_id(auth_code), _claimer(request))
    return found if found else (None, 0)


def claimed_by(request: HttpRequest, auth_code: str) -> tuple[str, str]:
    """(order id, this session's claim digest) of the order a waiting phone
    asks about; 404 for a session that never claimed one. Whether it
    claimed this one, the store says at each read (``claimed_status``)."""
    return _order_id(auth_code), _claimer(request)


def claimed_status(order_id: str, claimer: str) -> tuple[State | None, float]:
    """``wait_status`` for a stream: read unpaced (woken by a change, not
    polling), (None, 0) once gone, 404 once not this session's."""
    found = _claimed(order_id, claimer, paced=False)
    return found if found else (None, 0)


def finish(request: HttpRequest, auth_code: str) -> Outcome:
    """The waiting phone signs in, once its desktop allowed it ("signed_in"
    or "refused" by the backend); else "waiting" with its ``state``."""
    order_id = _order_id(auth_code)
    claimer = _claimer(request)
    order = store.finish_order(order_id, claimer)
    if order is None:
        found = _claimed(order_id, claimer)
        return Outcome("waiting", {"order_id": order_id, "state": found[0] if found else None})
    return sign_in(request, order, FLOW)


_DECISIONS = {"allow": True, "deny": False}


def decide(request: HttpRequest, auth_code: str, action: str) -> Outcome:
    """The desktop's Allow or Deny (``action``) for the phone that asked:
    "allowed", "denied", "expired" (nothing to decide), "bad_action", or
    "step_up" before an Allow from a desktop whose last authentication is
    too old. 404 for a browser that did not issue the order."""
    bound = issuers.owned_order(request, FLOW, auth_code)
    if bound is None:
        raise Http404("no such code")
    allow = _DECISIONS.get(action)
    if allow is None:
        return Outcome("bad_action")
    if allow and needs_step_up(request):  # lending the account needs a fresh authentication
        return Outcome("step_up")
    user = (request.user.pk, tokens.auth_digest(request.user))
    asked = store.desktop_decides(*bound, allow, user)
    if asked is None:
        return Outcome("expired")
    ref = tokens.order_ref(auth_code)
    kwargs = {"sender": FLOW.value, "request": request, "user": request.user, "order_ref": ref}
    if allow:
        signals.approved.send(**kwargs, device="")
    else:
        phone = {"requester": asked.device, "requester_ip": asked.requester_ip}
        signals.denied.send(**kwargs, device="", reason="denied", **phone)
    logger.info("qrauth: order %s %s by its desktop", ref, "allowed" if allow else "denied")
    return Outcome("allowed" if allow else "denied")
