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

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from .. import binding, clock, signals, store, tokens
from .._compat import login_not_required
from ..devices import client_ip, describe_user_agent, device_label, same_network
from ..policy import APPROVE, requires_flow, user_may_use
from ..stepup import needs_step_up
from .common import display_name, invalid, protected, stale
from .step_up import redirect_to_step_up, step_up_url

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
    """The scan URL of an approve order: GET notes the scan and moves on to
    ``qrauth_approve_resume``, the same page without the token; only a POST
    from a signed-in phone answers."""
    token = tokens.parse_scan_token(auth_code)
    if token is None:
        return invalid(request, FLOW, None)
    if request.method == "POST":
        return _answer(request, token, auth_code)
    order = _read(request, token)
    refused = _refusal(request, token, order)
    if refused is not None:
        return refused
    response = redirect("qrauth_approve_resume")
    if request.method == "GET":
        binding.remember_scan(request, response, token)
    return response


@requires_flow(FLOW)
@login_not_required
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
@protected
def approve_resume(request: HttpRequest) -> HttpResponse:
    """The phone's page for the code it scanned last (kept in a cookie):
    what would be signed in where, and the Approve and Deny buttons. Also
    where a phone comes back after signing in or stepping up."""
    remembered = binding.remembered_scan(request)
    if remembered is None:
        return invalid(request, FLOW, None)
    auth_code, token = remembered
    if request.method == "POST":
        return _answer(request, token, auth_code)
    return _show(request, token, auth_code)


def _device(request: HttpRequest) -> str:
    return describe_user_agent(request.headers.get("User-Agent", ""))


def _read(
    request: HttpRequest, token: tokens.ScanToken, vouched: bool = False, viewer: str = ""
) -> store.Order | None:
    if request.method == "HEAD":  # looks, records nothing
        return store.peek_order(token.order_id, token, vouched, store.APPROVE)
    return store.record_scan(token, _device(request), vouched, store.APPROVE, viewer)


def _refusal(
    request: HttpRequest, token: tokens.ScanToken, order: store.Order | None
) -> HttpResponse | None:
    """The answer for an order this scan cannot answer, or None."""
    if order is None or order.flow != store.APPROVE:
        return invalid(request, FLOW, tokens.order_ref(token.order_id))
    if order.claimer:
        return _handled(request, order.claimer, order.state)
    if not order.is_open:
        return invalid(request, FLOW, order.ref)
    if not order.usable:
        return _unusable(request, token, order.ref)
    return None


def _may_answer(request: HttpRequest) -> bool:
    """Whether this phone may answer now: signed in, allowed, stepped up."""
    if not request.user.is_authenticated or needs_step_up(request):
        return False
    return user_may_use(request, request.user, FLOW)


def _show(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> HttpResponse:
    # A phone that may answer is noted as the one looking, so the other
    # screen shows the number for this session; an anonymous or refused
    # look reveals no number and claims nothing. The secret this session
    # claims with is made now: two taps on Approve must not each make their
    # own and lose the claim to each other.
    looking = request.method == "GET" and _may_answer(request)
    viewer = binding.claimer_digest(request) if looking else ""
    order = _read(request, token, binding.scan_vouched(request, auth_code), viewer)
    refused = _refusal(request, token, order)
    if refused is not None:
        return refused
    if not request.user.is_authenticated:
        return _sign_in_first(request)
    if not user_may_use(request, request.user, FLOW):
        return render(request, "qrauth/not_allowed.html", status=403)
    if needs_step_up(request):
        return redirect_to_step_up(request)
    if request.method == "GET":
        signals.scanned.send(
            sender=FLOW,
            request=request,
            user=request.user,
            order_ref=order.ref,
            device=_device(request),
        )
    return render(request, "qrauth/approve.html", _details(request, order))


def _sign_in_first(request: HttpRequest) -> HttpResponse:
    """To LOGIN_URL and back to ``qrauth_approve_resume``: the token stays
    in the scan cookie, out of the login page's URL."""
    return redirect_to_login(reverse("qrauth_approve_resume"))


def _details(request: HttpRequest, order: store.Order) -> dict:
    """What the phone shows before anything else: what would be signed in where
    (never the token: the page is where the scan URL led, without it)."""
    age = max(clock.now() - order.created, 0)
    return {
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
        return _sign_in_first(request)
    approving = _DECISIONS.get(request.POST.get("action", ""))
    if approving is None:
        return HttpResponseBadRequest("action must be approve or deny")
    if not user_may_use(request, request.user, FLOW):
        return render(request, "qrauth/not_allowed.html", status=403)
    if needs_step_up(request):  # lending the account needs a fresh authentication
        return _step_up_first(request)
    user = (request.user.pk, tokens.auth_digest(request.user))
    decision = store.decide_order(
        token,
        binding.claimer_digest(request),
        approving,
        request.POST.get("number", "").strip(),
        user,
        _device(request),
        binding.scan_vouched(request, auth_code),
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
    _announce(request, decision.state, ref)
    # The scan cookie stays: Back to this page shows the answer again.
    return _done(request, decision.state)


def _step_up_first(request: HttpRequest) -> HttpResponse:
    """A POST from a phone whose last authentication is too old: refused."""
    message = _("Confirm your password on this phone first, then answer again.")
    context = {"message": message, "step_up_url": step_up_url(reverse("qrauth_approve_resume"))}
    return render(request, "qrauth/approve_done.html", context, status=403)


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
