"""Approve, the phone's side: a signed-in phone scans the code on another
screen, sees what it is about to sign in, and approves or denies (the
steps, and why each is there: qrauth/flows/approve.py)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .. import clock
from ..devices import client_ip, device_label, same_network
from ..flows import Outcome
from ..flows import approve as steps
from ..model import Order, State
from . import responses
from .decorators import qrauth_view

__all__ = ["age_text", "approve", "approve_resume"]

FLOW = steps.FLOW


@qrauth_view(("GET", "HEAD", "POST"), flow=FLOW)
def approve(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The scan URL of an approve order: GET notes the scan and moves on to
    ``qrauth_approve_resume``, the same page without the token; only a POST
    from a signed-in phone answers."""
    return _respond(request, steps.at_scan_url(request, auth_code))


@qrauth_view(("GET", "HEAD", "POST"), flow=FLOW)
def approve_resume(request: HttpRequest) -> HttpResponse:
    """The phone's page for the code it scanned last (kept in a cookie):
    what would be signed in where, and the Approve and Deny buttons. Also
    where a phone comes back after signing in or stepping up."""
    return _respond(request, steps.at_resume(request))


def _respond(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    return _ANSWERS[outcome.kind](request, outcome)


def _sign_in_first(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    """To LOGIN_URL and back to ``qrauth_approve_resume``: the token stays
    in the scan cookie, out of the login page's URL."""
    return redirect_to_login(reverse("qrauth_approve_resume"))


def _details(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    """What the phone shows before anything else: what would be signed in where
    (never the token: the page is where the scan URL led, without it)."""
    order: Order = outcome.order
    age = max(clock.now() - order.created, 0)
    context = {
        "site": request.get_host(),
        "account": request.user,
        "account_name": responses.display_name(request.user),
        "requester": device_label(order.requester),
        "requester_ip": order.requester_ip,
        "same_network": same_network(order.requester_ip, client_ip(request)),
        "age": age_text(age),
        "number_matching": bool(order.number),
    }
    return render(request, "qrauth/approve.html", context)


def age_text(seconds: int) -> str:
    """How long ago a code appeared, in words."""
    if seconds < 1:
        return _("just now")
    if seconds < 60:
        return ngettext("%(n)d second ago", "%(n)d seconds ago", seconds) % {"n": seconds}
    minutes = seconds // 60
    return ngettext("%(n)d minute ago", "%(n)d minutes ago", minutes) % {"n": minutes}


def _answered(message: str, tone: str, heading: str = "", **context) -> dict:
    """What approve_done.html shows: a ``heading`` (else "Sign-in request"),
    the ``message`` in its ``tone``, and the site to go on to."""
    home = responses.home_url()
    return {"message": message, "tone": tone, "heading": heading, "home_url": home, **context}


def _taken(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    message = _("This sign-in was already handled on another device. Nothing was changed.")
    context = _answered(message, "info")
    return render(request, "qrauth/approve_done.html", context, status=409)


# The stored state -> (heading, tone, message). The heading says what
# became of the answer; the message what it means, without saying it twice.
_DONE = {
    State.APPROVED: (
        gettext_lazy("Approved"),
        "success",
        gettext_lazy("The other screen is signing in now; you can put the phone away."),
    ),
    State.CONSUMED: (
        gettext_lazy("Approved"),
        "success",
        gettext_lazy("The other screen is signed in."),
    ),
    State.DENIED: (gettext_lazy("Denied"), "failure", gettext_lazy("Nobody was signed in.")),
    State.REFUSED: (
        gettext_lazy("Not signed in"),
        "failure",
        gettext_lazy(
            "Approved, but the other screen could not be signed in: this account cannot sign "
            "in there with a phone."
        ),
    ),
    State.WRONG_NUMBER: (
        gettext_lazy("Sign-in stopped"),
        "failure",
        gettext_lazy(
            "That was not the number on the other screen, so the sign-in was stopped and "
            "nobody was signed in. If you did not just open this on a screen in front of you, "
            "someone may be trying to get into your account."
        ),
    ),
}


def _done(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    closed = ("", "info", _("This sign-in request is closed."))
    heading, tone, message = _DONE.get(outcome.state, closed)
    approved = outcome.state in (State.APPROVED, State.CONSUMED)
    context = _answered(message, tone, heading, approved=approved)
    return render(request, "qrauth/approve_done.html", context)


def _step_up_first(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    """A POST from a phone whose last authentication is too old: refused."""
    message = _("Confirm your password on this phone first, then answer again.")
    resume = reverse("qrauth_approve_resume")
    context = _answered(message, "warning", step_up_url=responses.step_up_url(resume))
    return render(request, "qrauth/approve_done.html", context, status=403)


_ANSWERS = {
    "invalid": lambda request, outcome: responses.invalid(request),
    "stale": lambda request, outcome: responses.stale(request),
    "to_resume": lambda request, outcome: redirect("qrauth_approve_resume"),
    "done": _done,
    "taken": _taken,
    "sign_in_first": _sign_in_first,
    "not_allowed": lambda request, outcome: responses.not_allowed(request),
    "step_up": lambda request, outcome: responses.redirect_to_step_up(request),
    "step_up_first": _step_up_first,
    "bad_action": lambda request, outcome: HttpResponseBadRequest("action must be approve or deny"),
    "details": _details,
}
