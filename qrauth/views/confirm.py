"""Hand-off with desktop confirmation (AUTH_QR_CODE_DESKTOP_CONFIRMATION).

After the phone presses Continue, the desktop that shows the code is asked
"<device> at <address> asks to sign in as you: allow?", and the phone waits.
So a code that was photographed, or shown on a shared screen, signs no one
in unless the person at the desktop agrees. The phone's Continue claims the
order for its session: only that session can wait on it and finish it.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from .. import binding, signals, store, tokens
from .._compat import login_not_required
from ..conf import settings
from ..devices import client_ip, describe_user_agent
from ..messages import HANDOFF_PHONE, outcome
from ..policy import HANDOFF, requires_flow
from ..stepup import needs_step_up
from .common import authenticate_order, invalid, protected, protected_json, sign_in
from .step_up import step_up_url

__all__ = ["ask_desktop", "handoff_decide", "handoff_finish", "handoff_wait"]

logger = logging.getLogger(__name__)

FLOW = HANDOFF

# The claiming phone's view of the stored state.
_PHONE_OUTCOMES = {
    store.ASKING_DESKTOP: ("pending", "waiting"),
    store.ALLOWED: ("complete", "approved"),  # page.js then sends the finish form
    store.CONSUMED: ("complete", "signed_in"),
    store.DENIED: ("failed", "denied"),
}


def ask_desktop(request: HttpRequest, token: tokens.ScanToken, vouched: bool) -> HttpResponse:
    """The phone's Continue, when the desktop must confirm: claim and wait."""
    device = describe_user_agent(request.headers.get("User-Agent", ""))
    claimer = binding.claimer_digest(request)
    order = store.ask_desktop(token, device, claimer, client_ip(request), vouched)
    if order is None:
        return invalid(request, FLOW, tokens.order_ref(token.order_id))
    if not request.user.is_authenticated:
        # A new session key for the claim (after it: a refused claim leaves
        # the session alone): a session planted on this phone beforehand
        # (session fixation) must not be able to finish it.
        request.session.cycle_key()
    logger.info("qrauth: order %s waits for its desktop", order.ref)
    return _wait_page(request, token.order_id, _phone_status(store.ASKING_DESKTOP))


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
    claimer = binding.existing_claimer_digest(request)
    if claimer is None:
        raise Http404("no such code")
    return claimer


def _claimed(order_id: str, claimer: str) -> tuple[str, float] | None:
    """(state, seconds left) of the order this session claimed; 404 if not its."""
    try:
        return store.claimer_status(order_id, claimer)
    except LookupError:
        raise Http404("no such code") from None


def _phone_status(state: str | None) -> dict[str, str]:
    state_name, hint = _PHONE_OUTCOMES.get(state, ("failed", "expired"))
    if state == store.CANCELLED:
        state_name, hint = "failed", "cancelled"
    return outcome(state_name, hint, flow=HANDOFF_PHONE)


def _wait_page(request: HttpRequest, order_id: str, status: dict) -> HttpResponse:
    # The order id, not the token: the claim in this session is what counts.
    context = {**status, "auth_code": order_id}
    return render(request, "qrauth/handoff_wait.html", context)


@requires_flow(FLOW)
@login_not_required
@require_GET
@protected_json
def handoff_wait(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The waiting phone's status poll; 404 for any session but the claimer's."""
    found = _claimed(_order_id(auth_code), _claimer(request))
    state, expires_in = found if found else (None, 0)
    return JsonResponse({**_phone_status(state), "expires_in": expires_in, "frame": None})


@requires_flow(FLOW)
@login_not_required
@csrf_protect
@require_POST
@protected
def handoff_finish(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The waiting phone signs in, once its desktop allowed it; else the status."""
    order_id = _order_id(auth_code)
    claimer = _claimer(request)
    order = store.finish_order(order_id, claimer)
    if order is None:
        found = _claimed(order_id, claimer)
        return _wait_page(request, order_id, _phone_status(found[0] if found else None))
    user = authenticate_order(request, order)
    if user is None:  # the backend logged and signalled why
        return redirect("invalid_auth_code")
    return sign_in(request, user, order, FLOW, settings.REDIRECT_URL)


_DECISIONS = {"allow": True, "deny": False}


@requires_flow(FLOW)
@login_required
@csrf_protect
@require_POST
@protected
def handoff_decide(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The desktop's Allow or Deny for the phone that asked."""
    bound = binding.owns_order(request, FLOW, auth_code)
    if bound is None:
        raise Http404("no such code")
    allow = _DECISIONS.get(request.POST.get("action", ""))
    if allow is None:
        return HttpResponseBadRequest("action must be allow or deny")
    if allow and needs_step_up(request):  # lending the account needs a fresh authentication
        return _step_up_first(request)
    user = (request.user.pk, tokens.auth_digest(request.user))
    decided = store.desktop_decides(*bound, allow, user)
    ref = tokens.order_ref(auth_code)
    if decided:
        kwargs = {"sender": FLOW, "request": request, "user": request.user, "order_ref": ref}
        if allow:
            signals.approved.send(**kwargs, device="")
        else:
            signals.denied.send(**kwargs, device="", reason="denied")
        logger.info("qrauth: order %s %s by its desktop", ref, "allowed" if allow else "denied")
    status = outcome("pending", "allowed") if decided and allow else outcome("failed", "denied")
    if not decided:
        status = outcome("failed", "expired")
    return render(request, "qrauth/handoff_decided.html", status)


def _step_up_first(request: HttpRequest) -> HttpResponse:
    """An Allow from a desktop whose last authentication is too old: refused."""
    message = _("Confirm your password first, then show a new code.")
    context = {"message": message, "step_up_url": step_up_url(reverse("qr_code_page"))}
    return render(request, "qrauth/handoff_decided.html", context, status=403)
