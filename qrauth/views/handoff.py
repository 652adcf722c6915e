"""Hand-off: a signed-in desktop shows a QR code, a phone scans it and is
signed in as the same user (the steps: qrauth/flows/handoff.py).

A GET of the scan URL keeps the scan in a cookie and moves on to
``qrauth_continue``, the same question without the token in the address
bar, the history or the page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from ..conf import settings
from ..flows import Outcome, handoff
from . import responses
from .confirm import wait_page
from .decorators import qrauth_view
from .pictures import picture

__all__ = ["handoff_continue", "invalid_code", "qr_code_login", "qr_code_page", "qr_code_picture"]

FLOW = handoff.FLOW


# A link from another site must not put a live code on the screen (think of
# a link dropped in the chat of a screen-sharing call): such a visit gets a
# button first, and the click on it comes from this site.
_FOREIGN_NAVIGATION = ("cross-site", "same-site")


def _from_elsewhere(request: HttpRequest) -> bool:
    """Whether another site led here: Sec-Fetch-Site, or for a browser that
    sends none (older Safari), the origin of Origin or Referer. Neither
    (a typed address, a bookmark) counts as this site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in _FOREIGN_NAVIGATION
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return False
    parts = urlsplit(source)
    here = f"{request.scheme}://{request.get_host()}"
    return f"{parts.scheme}://{parts.netloc}" != here


@qrauth_view(flow=FLOW, login=True)
def qr_code_page(request: HttpRequest) -> HttpResponse:
    """Issue an order for this user and browser; replaces its previous one."""
    if _from_elsewhere(request):
        return render(request, "qrauth/show_code.html")
    shown = handoff.show_code(request)
    if shown.kind == "not_allowed":
        return responses.not_allowed(request)
    if shown.kind == "step_up":
        return responses.redirect_to_step_up(request)
    context = responses.code_page_context(shown.order_id, FLOW)
    context["events_url"] = responses.events_url(request, "qrauth_events", shown.order_id)
    context["desktop_confirmation"] = settings.DESKTOP_CONFIRMATION
    return render(request, "qrauth/page.html", context)


@qrauth_view(flow=FLOW, login=None)
def qr_code_picture(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The QR image of this browser's order; 404 for anyone else."""
    user_id = _signed_in_id(request)
    if user_id is None:
        raise Http404("no such QR code")
    return picture(request, FLOW, auth_code, "qr_code_login", user_id)


def _signed_in_id(request: HttpRequest) -> Any:
    """Whom this browser is signed in as, read from its session without
    loading the user: the image gives this browser no more than its status
    poll does (the binding decides), and whether that user may still sign
    in is checked where the code is used. From ``request.user`` only on a
    site that signs people in without the session."""
    user_id = request.session.get(SESSION_KEY)
    if user_id is not None:
        return user_id
    return request.user.pk if request.user.is_authenticated else None


@qrauth_view(("GET", "HEAD", "POST"), flow=FLOW)
def qr_code_login(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The scan URL: GET notes the scan and moves on to ``qrauth_continue``,
    which asks "sign in as ...?"; only POST signs in."""
    return _respond(request, handoff.at_scan_url(request, auth_code))


@qrauth_view(("GET", "HEAD", "POST"), flow=FLOW)
def handoff_continue(request: HttpRequest) -> HttpResponse:
    """The phone's question for the code it scanned last (kept in a cookie):
    "sign in as ...?", with Continue and Cancel."""
    return _respond(request, handoff.at_continue(request))


def _respond(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    return _ANSWERS[outcome.kind](request, outcome)


def _to_continue(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    """To ``qrauth_continue``, with the scan URL's ``next`` if it is safe."""
    next_url = responses.safe_next(request, "")
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return HttpResponseRedirect(reverse("qrauth_continue") + query)


def _question(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    other = outcome.signed_in_as
    context = {
        "account": outcome.account,
        "account_name": responses.display_name(outcome.account),
        # Switching accounts must be said before it happens.
        "signed_in_as": responses.display_name(other) if other else "",
        "next": responses.safe_next(request, ""),
    }
    return render(request, "qrauth/confirm.html", context)


def _signed_in(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    told = _("You are now signed in on this device.")
    messages.success(request, told, fail_silently=True)
    return responses.redirect_after(request, settings.REDIRECT_URL)


def _about_account(template: str):
    """A page that names the account this browser is signed in as, and
    offers the site: "already_signed_in" (Back to the question after this
    phone signed in), "own_code" (the browser showing the code opened it)."""

    def answer(request: HttpRequest, outcome: Outcome) -> HttpResponse:
        context = {
            "account": outcome.account,
            "account_name": responses.display_name(outcome.account),
            "home_url": responses.home_url(),
        }
        return render(request, template, context)

    return answer


def _declined(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    if outcome.kind == "declined":
        told = _("Nobody was signed in, and the code no longer works.")
        messages.info(request, told, fail_silently=True)
    return responses.redirect_after(request, "/")


_ANSWERS = {
    "invalid": lambda request, outcome: responses.invalid(request),
    "refused": lambda request, outcome: responses.invalid(request),  # the backend said why
    "stale": lambda request, outcome: responses.stale(request),
    "to_continue": _to_continue,
    "question": _question,
    "signed_in": _signed_in,
    "declined": _declined,
    "not_declined": _declined,
    "waiting": lambda request, outcome: wait_page(request, outcome),
    "already_signed_in": _about_account("qrauth/already_signed_in.html"),
    "own_code": _about_account("qrauth/own_code.html"),
}


@qrauth_view(login=False)
def invalid_code(request: HttpRequest) -> HttpResponse:
    # A visitor who is signed in is sent on to the site, not to a password.
    context = {
        "login_url": responses.login_url(),
        "signed_in": request.user.is_authenticated,
        "home_url": responses.home_url(),
    }
    return render(request, "qrauth/invalid_code.html", context)
