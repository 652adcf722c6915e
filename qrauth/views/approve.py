"""Approve, the phone's side: a signed-in phone scans the code on another
screen, sees what it is about to sign in, and approves or denies.

Done carelessly this is the easiest account takeover there is: an attacker
shows the victim a code from the attacker's own screen, the victim
approves, and the attacker is in (QRLJacking; "cross-device consent
phishing" in the IETF's cross-device flows BCP). So, before any button, the
page says what will be signed in where: the account, the requesting
browser and its address, how long ago the code appeared. With number
matching the phone must type a number shown on the requesting screen, so a
blind approval of a screen that is not in front of the user fails. The
first phone session to answer claims the order, for good.

GET and HEAD change nothing but the "scanned" mark (HEAD not even that).
"""

from __future__ import annotations

import dataclasses
import logging

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from .. import binding, signals, store, tokens
from .._compat import login_not_required
from ..devices import client_ip, describe_user_agent, device_label, same_network
from ..policy import APPROVE, requires_flow, user_may_use
from .common import display_name, invalid, protected, stale

__all__ = ["approve", "approve_resume"]

logger = logging.getLogger(__name__)

FLOW = APPROVE
_DECISIONS = {"approve": True, "deny": False}


@requires_flow(FLOW)
@login_not_required
@csrf_protect  # even on a site without CsrfViewMiddleware
@require_http_methods(["GET", "HEAD", "POST"])
@protected
def approve(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The scan URL of an approve order: GET shows what would be signed in,
    only a POST from a signed-in phone answers."""
    token = tokens.parse_scan_token(auth_code)
    if token is None:
        return invalid(request, FLOW, None)
    if request.method == "POST":
        return _answer(request, token, auth_code)
    return _show(request, token, auth_code)


def _device(request: HttpRequest) -> str:
    return describe_user_agent(request.headers.get("User-Agent", ""))


def _read(request: HttpRequest, token: tokens.ScanToken, vouched: bool) -> store.Order | None:
    if request.method == "HEAD":  # looks, records nothing
        order = store.peek_order(token.order_id)
        if order is None:
            return None
        fresh = token.elapsed is not None or order.minted
        return dataclasses.replace(order, usable=order.is_open and fresh)
    return store.record_scan(token, _device(request), vouched, store.APPROVE)


def _show(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> HttpResponse:
    vouched = binding.vouches_for(request, auth_code)
    order = _read(request, token, vouched)
    if order is None or order.flow != store.APPROVE:
        return invalid(request, FLOW, tokens.order_ref(token.order_id))
    if order.claimer:
        return _handled(request, order.claimer, order.state)
    if not order.is_open:
        return invalid(request, FLOW, order.ref)
    if not order.usable:
        return _unusable(request, token, order.ref)
    if request.method == "GET" and not vouched:
        # Fresh now: this phone may answer later, within the order's life,
        # also after signing in first (Django's login keeps session data).
        binding.vouch_for(request, auth_code)
    if not request.user.is_authenticated:
        return _sign_in_first(request, token)
    if not user_may_use(request, request.user, FLOW):
        return render(request, "qrauth/not_allowed.html", status=403)
    # The secret this session will claim with, made now: two taps on Approve
    # must not each make their own and lose the claim to each other.
    binding.claimer_digest(request)
    if request.method == "GET":
        signals.scanned.send(
            sender=FLOW,
            request=request,
            user=request.user,
            order_ref=order.ref,
            device=_device(request),
        )
    return render(request, "qrauth/approve.html", _details(request, order, auth_code))


def _sign_in_first(request: HttpRequest, token: tokens.ScanToken) -> HttpResponse:
    """To LOGIN_URL and back, by way of ``qrauth_approve_resume``: the token
    stays in this session, out of the login page's URL."""
    binding.remember_scan(request, token)
    return redirect_to_login(reverse("qrauth_approve_resume"))


@requires_flow(FLOW)
@login_not_required
@require_GET
@protected
def approve_resume(request: HttpRequest) -> HttpResponse:
    """Where a phone comes back after signing in: to the code it scanned."""
    token = binding.remembered_scan(request)
    if token is None:
        return redirect("invalid_auth_code")
    return redirect("qrauth_approve", token)


def _details(request: HttpRequest, order: store.Order, auth_code: str) -> dict:
    """What the phone shows before anything else: what would be signed in where."""
    age = max(store.now() - order.created, 0)
    return {
        "auth_code": auth_code,
        "site": request.get_host(),
        "account": request.user,
        "account_name": display_name(request.user),
        "requester": device_label(order.requester),
        "requester_ip": order.requester_ip,
        "same_network": same_network(order.requester_ip, client_ip(request)),
        "age": ngettext("%(n)d second ago", "%(n)d seconds ago", age) % {"n": age},
        "number_matching": bool(order.number),
    }


def _unusable(request: HttpRequest, token: tokens.ScanToken, order_ref: str) -> HttpResponse:
    if token.elapsed is None:  # a static code whose image was never shown
        return invalid(request, FLOW, order_ref)
    return stale(request)


def _handled(request: HttpRequest, claimer: str, state: str) -> HttpResponse:
    """An order some phone already answered: this one, or another."""
    if binding.is_claimer(request, claimer):
        return _done(request, state)
    return _taken(request)


def _taken(request: HttpRequest) -> HttpResponse:
    message = _("This sign-in was already handled on another device. Nothing was changed.")
    return render(request, "qrauth/approve_done.html", {"message": message}, status=409)


_DONE = {
    store.APPROVED: _("Approved. The other screen is signing in now; you can put the phone away."),
    store.CONSUMED: _("Approved. The other screen is signed in."),
    store.DENIED: _("Denied. Nobody was signed in."),
    store.REFUSED: _(
        "Approved, but the other screen could not be signed in: this account cannot sign in "
        "there with a phone."
    ),
    store.WRONG_NUMBER: _(
        "That was not the number on the other screen, so the sign-in was stopped and nobody "
        "was signed in. If you did not just open this on a screen in front of you, someone may "
        "be trying to get into your account."
    ),
}


def _done(request: HttpRequest, state: str) -> HttpResponse:
    message = _DONE.get(state, _("This sign-in request is closed."))
    context = {"message": message, "approved": state in (store.APPROVED, store.CONSUMED)}
    return render(request, "qrauth/approve_done.html", context)


def _answer(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return _sign_in_first(request, token)
    approving = _DECISIONS.get(request.POST.get("action", ""))
    if approving is None:
        return HttpResponseBadRequest("action must be approve or deny")
    if not user_may_use(request, request.user, FLOW):
        return render(request, "qrauth/not_allowed.html", status=403)
    user = (request.user.pk, tokens.auth_digest(request.user))
    decision = store.decide_order(
        token,
        binding.claimer_digest(request),
        approving,
        request.POST.get("number", "").strip(),
        user,
        _device(request),
        binding.vouches_for(request, auth_code),
    )
    ref = tokens.order_ref(token.order_id)
    if decision.outcome == "taken":
        logger.info("qrauth: order %s refused: claimed by another session", ref)
        return _taken(request)
    if decision.outcome == "mine":
        return _done(request, decision.state)
    if decision.outcome == "unusable":
        if decision.state in (store.PENDING, store.SCANNED):
            return _unusable(request, token, ref)
        return invalid(request, FLOW, ref)
    binding.take_voucher(request, auth_code)
    _announce(request, decision.state, ref)
    return _done(request, decision.state)


def _announce(request: HttpRequest, state: str, ref: str) -> None:
    device = _device(request)
    kwargs = {"sender": FLOW, "request": request, "user": request.user, "order_ref": ref}
    if state == store.APPROVED:
        logger.info("qrauth: order %s approved", ref)
        signals.approved.send(**kwargs, device=device)
        return
    reason = "wrong_number" if state == store.WRONG_NUMBER else "denied"
    logger.info("qrauth: order %s denied: %s", ref, reason)
    signals.denied.send(**kwargs, device=device, reason=reason)
