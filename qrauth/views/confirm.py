"""Hand-off with desktop confirmation (AUTH_QR_CODE_DESKTOP_CONFIRMATION):
the phone's wait and finish, the desktop's Allow and Deny (the steps:
qrauth/flows/confirmation.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from ..conf import settings
from ..flows import Outcome, confirmation
from ..model import State
from ..wording import HANDOFF_PHONE, outcome
from . import responses
from .decorators import qrauth_view

__all__ = ["handoff_decide", "handoff_finish", "handoff_wait", "wait_page", "wait_payload"]

FLOW = confirmation.FLOW

# The claiming phone's view of the stored state.
_PHONE_OUTCOMES = {
    State.ASKING_DESKTOP: ("pending", "waiting"),
    State.ALLOWED: ("complete", "approved"),  # page.js then sends the finish form
    State.CONSUMED: ("complete", "signed_in"),
    State.DENIED: ("failed", "denied"),
    State.CANCELLED: ("failed", "cancelled"),
}


def _phone_status(state: State | None) -> dict[str, str]:
    state_name, hint = _PHONE_OUTCOMES.get(state, ("failed", "expired"))
    return outcome(state_name, hint, flow=HANDOFF_PHONE)


def wait_page(request: HttpRequest, waiting: Outcome) -> HttpResponse:
    # The order id, not the token: the claim in this session is what counts.
    context = {**_phone_status(waiting.state), "auth_code": waiting.order_id}
    context["home_url"] = responses.home_url()
    context["events_url"] = responses.events_url(request, "qrauth_wait_events", waiting.order_id)
    return render(request, "qrauth/handoff_wait.html", context)


@qrauth_view(flow=FLOW, json=True)
def handoff_wait(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The waiting phone's status poll; 404 for any session but the claimer's."""
    return JsonResponse(wait_payload(*confirmation.wait_status(request, auth_code)))


def wait_payload(state: State | None, expires_in: float) -> dict[str, Any]:
    """The waiting phone's status: polled, or pushed (views/events.py)."""
    return {**_phone_status(state), "expires_in": expires_in, "frame": None}


@qrauth_view(("POST",), flow=FLOW)
def handoff_finish(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The waiting phone signs in, once its desktop allowed it; else the status."""
    finished = confirmation.finish(request, auth_code)
    if finished.kind == "waiting":
        return wait_page(request, finished)
    if finished.kind == "refused":  # the backend logged and signalled why
        return responses.invalid(request)
    return responses.redirect_after(request, settings.REDIRECT_URL)


@qrauth_view(("POST",), flow=FLOW, login=True)
def handoff_decide(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The desktop's Allow or Deny for the phone that asked."""
    decided = confirmation.decide(request, auth_code, request.POST.get("action", ""))
    if decided.kind == "bad_action":
        return HttpResponseBadRequest("action must be allow or deny")
    if decided.kind == "step_up":
        # An Allow from a desktop whose last authentication is too old: refused.
        message = _("Confirm your password first, then show a new code.")
        context = {
            "message": message,
            "tone": "warning",
            "step_up_url": responses.step_up_url(reverse("qr_code_page")),
            "home_url": responses.home_url(),
        }
        return render(request, "qrauth/handoff_decided.html", context, status=403)
    words = {"allowed": ("pending", "allowed"), "denied": ("failed", "denied")}
    status = outcome(*words.get(decided.kind, ("failed", "expired")))
    context = {**status, "home_url": responses.home_url()}
    if decided.kind == "allowed":  # this screen's part is done, and went well
        context["tone"] = "success"
    return render(request, "qrauth/handoff_decided.html", context)
