"""Approve, the desktop's side, step by step: a browser that is not signed
in shows an animated QR code; once a signed-in phone approves it, this
browser collects the sign-in with a POST and is signed in as the phone's
user.

The status poll only reports "approved"; it never signs in. Signing in is
the POST of the page's Continue form, from the browser that issued the
order only; it first names the account ("Continue as alice?") and signs in
only when the person at this screen says so (AUTH_QR_CODE_CONFIRM_ACCOUNT),
so a stranger who scanned this screen with their own account cannot
silently make it theirs.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from .. import issuers, store
from ..backends import check_order_user
from ..conf import settings
from ..devices import client_ip
from ..model import Collected, Flow, State
from .codes import CodeStatus, looked_at, number_on_screen, order_status
from .common import Outcome, announce_issued, authenticate_order, device, log_in, start_order

__all__ = ["collect", "show_code"]

FLOW = Flow.APPROVE


def show_code(request: HttpRequest) -> Outcome:
    """A new code for a phone to approve, replacing this browser's previous
    one; or, for the page reloading itself without JavaScript (``?code=``),
    this browser's order again. Either way "shown", with ``order_id`` and
    its ``status``."""
    again = _shown_again(request)
    if again is not None:
        return again
    order_id, binding_digest, issue = start_order(request, FLOW)
    requester, address = device(request), client_ip(request)
    matching = settings.NUMBER_MATCHING
    store.issue_approve_order(order_id, binding_digest, requester, address, matching, issue)
    announce_issued(request, FLOW, order_id)
    return Outcome("shown", {"order_id": order_id, "status": CodeStatus(FLOW, State.PENDING)})


def _shown_again(request: HttpRequest) -> Outcome | None:
    """None when ``code`` is not this browser's order, or the order is gone."""
    code = request.GET.get("code", "")
    bound = issuers.owned_order(request, FLOW, code) if code else None
    if bound is None:
        return None
    try:
        status = order_status(FLOW, *bound)
    except Http404:
        return None
    if status.state is None:
        return None
    return Outcome("shown", {"order_id": code, "status": status})


def collect(request: HttpRequest, auth_code: str) -> Outcome:
    """Sign this browser in if a phone approved its order: "signed_in"; or
    "continue_as" (the ``account``: asked first), "status" (not approved
    yet, or any more), "refused" (403: the account may not sign in now),
    "signed_in_meanwhile". 404 for any other browser."""
    bound = issuers.owned_order(request, FLOW, auth_code)
    if bound is None:
        raise Http404("no such code")
    if request.user.is_authenticated:
        # Signed in meanwhile (with a password, in another tab): an approval
        # must not silently switch this browser to another account.
        store.cancel_order(*bound)
        issuers.forget_order(request, FLOW)
        return Outcome("signed_in_meanwhile")
    confirmed = not settings.CONFIRM_ACCOUNT or request.POST.get("confirm") == "account"
    collected = _collect(bound, take=confirmed)
    if collected is None:
        return _status(CodeStatus(FLOW, None))
    order = collected.order
    if not collected.signed_in:  # not approved (yet): say where it stands
        number = number_on_screen(auth_code, order.state, order.number, order.viewer)
        hidden = looked_at(order.state, order.viewer)
        return _status(CodeStatus(FLOW, order.state, order.device, number=number, looked_at=hidden))
    if not confirmed:
        user, reason = check_order_user(order, request)
        if reason is None:
            return Outcome("continue_as", {"account": user})
        collected = _collect(bound, take=True)  # to refuse it, below
        if collected is None or not collected.signed_in:
            return _status(CodeStatus(FLOW, None))
        order = collected.order
    user = authenticate_order(request, order)
    if user is None:  # the backend logged and signalled why
        store.refuse_order(*bound)
        return Outcome("refused")
    issuers.forget_order(request, FLOW)
    return log_in(request, user, order, FLOW)


def _status(status: CodeStatus) -> Outcome:
    return Outcome("status", {"status": status})


def _collect(bound: tuple[str, str], take: bool) -> Collected | None:
    try:
        return store.collect_order(*bound, take=take)
    except LookupError:
        raise Http404("no such code") from None
