"""Hand-off, step by step: a signed-in desktop shows a code, a phone scans
it and is signed in as the same user.

Only the POST of the confirmation form uses a code up. Link previewers and
QR apps that prefetch the scan URL send GET or HEAD, which at most record
that the code was scanned (HEAD not even that).
"""

from __future__ import annotations

import logging

from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpRequest
from django.utils.module_loading import import_string

from .. import issuers, scans, sessions, signals, store, tokens
from ..backends import QRAuthBackend, check_order_account
from ..conf import settings
from ..model import Flow, Order
from ..policy import user_may_use
from ..stepup import needs_step_up
from . import common, confirmation
from .common import (
    Outcome,
    announce_issued,
    device,
    invalid,
    invalid_token,
    sign_in,
    stale,
    start_order,
)

__all__ = ["answer_scan", "at_continue", "at_scan_url", "look_at_code", "show_code"]

logger = logging.getLogger("qrauth.flows")

FLOW = Flow.HANDOFF


def show_code(request: HttpRequest) -> Outcome:
    """Issue an order for this signed-in user and browser, replacing its
    previous one: "shown" (``order_id``), or "not_allowed", "step_up"."""
    if not user_may_use(request, request.user, FLOW.value):
        return Outcome("not_allowed")
    if needs_step_up(request):
        return Outcome("step_up")
    order_id, binding_digest, issue = start_order(request, FLOW)
    issuer = sessions.seal_session_key(order_id, request.session.session_key)
    auth = tokens.auth_digest(request.user)
    store.issue_order(order_id, request.user.pk, auth, binding_digest, issuer, issue)
    announce_issued(request, FLOW, order_id, request.user)
    return Outcome("shown", {"order_id": order_id})


def at_scan_url(request: HttpRequest, auth_code: str) -> Outcome:
    """The scan URL: GET and HEAD look ("to_continue"; a GET keeps the scan
    in the scan cookie; "own_code" in the browser showing it); POST answers
    (see ``_answer``)."""
    return common.at_scan_url(request, FLOW, auth_code, _look_unless_own, _answer)


def at_continue(request: HttpRequest) -> Outcome:
    """The phone's question for the code it scanned last (the scan cookie):
    "question" (``account``, ``signed_in_as``: the other account this
    browser is signed in as, if any); POST answers. "already_signed_in"
    for a browser a code signed in, with no scan left to answer: Back to
    this page after it signed in (the scan cookie went with the sign-in).
    A phone signed in otherwise, waiting for the desktop's *Allow*, is not
    done yet: it gets the invalid page, which offers the site."""
    if _signed_in_by_a_code(request) and scans.remembered_scan(request) is None:
        return Outcome("already_signed_in", {"account": request.user})
    return common.at_last_scan(request, FLOW, _question, _answer)


def look_at_code(request: HttpRequest, auth_code: str) -> Outcome:
    """The JSON API's look at a code a phone scanned: "question" (as
    ``at_continue``, with the scan's ``handle`` to answer with), "own_code"
    in the browser that shows it, or why not."""
    token = common.parse(auth_code)
    if token is None:
        return invalid(request, FLOW, None)
    if issuers.owned_order(request, FLOW, token.order_id) is not None:
        return _look_unless_own(request, token, auth_code)
    asked = _question(request, token, auth_code)
    if asked.kind != "question":
        return asked
    return Outcome("question", {**asked.data, "handle": scans.scan_handle(token, "")})


def answer_scan(request: HttpRequest, handle: str, action: str) -> Outcome:
    """The JSON API's Continue or Cancel (``action``: "continue" or
    "decline") of the scan ``look_at_code`` handed out: as ``_answer``, and
    "bad_action" for any other action."""
    scan = scans.handled_scan(handle, "")
    if scan is None:
        return invalid(request, FLOW, None)
    if action not in ("continue", "decline"):
        return Outcome("bad_action")
    return _answered(request, scan[1], True, action)


def _signed_in_by_a_code(request: HttpRequest) -> bool:
    if not request.user.is_authenticated:
        return False
    try:
        backend = import_string(request.session.get(BACKEND_SESSION_KEY, ""))
    except ImportError:
        return False
    return isinstance(backend, type) and issubclass(backend, QRAuthBackend)


def _look_unless_own(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> Outcome:
    """The browser that shows this code opened it itself (a screenshot's
    code opened on the same phone, a copied link): it is signed in as the
    code's user already, so nothing is recorded and the code stays for the
    phone it is meant for: "own_code"; or, for a code that no longer works,
    the same refusal as anyone gets."""
    if issuers.owned_order(request, FLOW, token.order_id) is None:
        return _scanned(request, token, auth_code)
    order = _look(request, token, record=False)
    if isinstance(order, Outcome):
        return order
    return Outcome("own_code", {"account": request.user})


def _scanned(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> Outcome:
    # Redis only: who the code signs in as is for the page it leads to. A
    # phone that saw this very frame fresh may open its link again later
    # (a browser restoring the tab after an app switch).
    order = _look(request, token, scans.scan_vouched(request, auth_code))
    if isinstance(order, Outcome):
        return order
    if request.method == "GET":
        scans.remember_scan(request, token)
    return Outcome("to_continue")


def _question(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> Outcome:
    order = _look(request, token, scans.scan_vouched(request, auth_code))
    if isinstance(order, Outcome):
        return order
    # The question asks; Continue decides, and checks everything again. So
    # the question does not load the issuing browser's session too (it
    # would be a quarter of the question's time): a browser that signs out
    # cancels its code in Redis, which the look above already sees, and
    # what is left (a change of user without logout, a logout while Redis
    # was down) is refused at Continue, before anyone is signed in.
    user, reason = check_order_account(order, request)
    if reason is not None:
        return invalid(request, FLOW, order.ref, user, reason)
    if request.method == "GET":
        signals.scanned.send(
            sender=FLOW.value, request=request, user=user, order_ref=order.ref, device=order.device
        )
    switching = request.user.is_authenticated and request.user.pk != user.pk
    return Outcome(
        "question", {"account": user, "signed_in_as": request.user if switching else None}
    )


def _look(
    request: HttpRequest, token: tokens.ScanToken, vouched: bool = False, record: bool = True
) -> Order | Outcome:
    """The order, if the token may use it now; else the refusal. ``record``:
    note the scan (a GET); a HEAD never does."""
    if request.method == "HEAD" or not record:
        order = store.peek_order(token.order_id, token, vouched, FLOW)
    else:
        order = store.record_scan(token, device(request), vouched)
    if order is None or not order.is_open or order.flow != FLOW:
        return invalid_token(request, FLOW, token)
    if not order.usable:
        if token.elapsed is None:  # a static code whose image was never shown
            return invalid(request, FLOW, order.ref)
        return stale(request)
    return order


def _answer(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> Outcome:
    """The phone's Continue or Cancel: "signed_in", "waiting" (the desktop
    must allow it), "declined", "not_declined", "refused" (by the backend)
    or "invalid". Either way the scan cookie is used up."""
    vouched = scans.scan_vouched(request, auth_code)
    outcome = _answered(request, token, vouched, request.POST.get("action", ""))
    scans.forget_scan(request)
    return outcome


def _answered(request: HttpRequest, token: tokens.ScanToken, vouched: bool, action: str) -> Outcome:
    if action == "decline":
        return _decline(request, token, vouched)
    if settings.DESKTOP_CONFIRMATION:
        return confirmation.ask(request, token, vouched)
    order = store.consume_order(token, device(request), vouched)
    if order is None:
        return invalid_token(request, FLOW, token)
    return sign_in(request, order, FLOW)


def _decline(request: HttpRequest, token: tokens.ScanToken, vouched: bool) -> Outcome:
    if not store.decline_order(token, vouched):
        return Outcome("not_declined")
    ref = tokens.order_ref(token.order_id)
    logger.info("qrauth: order %s declined by its scanner", ref)
    signals.rejected.send(
        sender=FLOW.value, request=request, user=None, order_ref=ref, reason="declined"
    )
    return Outcome("declined")
