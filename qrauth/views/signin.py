"""Approve, the desktop's side: a browser that is not signed in shows an
animated QR code and, once a signed-in phone approved it, collects the
sign-in with a POST (the steps: qrauth/flows/signin.py).

Without JavaScript the page shows a plain image of the current frame,
which goes stale like any frame, and reloads itself (a meta refresh) to
show the next one: no code that lives for the order's whole life ever
appears on this screen.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings as django_settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from ..conf import settings
from ..flows import signin as steps
from ..wording import describe, outcome
from . import responses
from .decorators import qrauth_view
from .pictures import picture

__all__ = ["collect_signin", "signin", "signin_picture"]

FLOW = steps.FLOW
SCAN_VIEW = "qrauth_approve"


@qrauth_view(flow=FLOW)
def signin(request: HttpRequest) -> HttpResponse:
    """Show a new code for a phone to approve; replaces this browser's previous one."""
    if request.user.is_authenticated:
        return responses.redirect_after(request, django_settings.LOGIN_REDIRECT_URL)
    shown = steps.show_code(request)
    return _status_page(request, shown.order_id, shown.status)


def _refresh(order_id: str, next_url: str) -> dict:
    """How the page keeps its plain image fresh without JavaScript: reload
    well within the frame tolerance, so a scanned image is never stale."""
    query = {"code": order_id, **({"next": next_url} if next_url else {})}
    return {
        "refresh_seconds": max(settings.FRAME_TOLERANCE // 2, 1),
        "refresh_url": f"{reverse('qrauth_signin')}?{urlencode(query)}",
    }


def _status_page(request: HttpRequest, order_id: str, status: steps.CodeStatus) -> HttpResponse:
    words = describe(status.state, status.device, FLOW.value, status.number)
    return _page(request, order_id, words, status.number, looked_at=status.looked_at)


def _page(
    request: HttpRequest,
    order_id: str,
    status: dict,
    number: str = "",
    http_status: int = 200,
    looked_at: bool = False,
) -> HttpResponse:
    """``looked_at``: a signed-in phone has the code open, and the page no
    longer shows it (it keeps reloading without JavaScript, to follow)."""
    context = {**responses.code_page_context(order_id), **status, "number": number}
    context["events_url"] = responses.events_url(request, "qrauth_events", order_id)
    context["next"] = responses.safe_next(request, "")
    context["looked_at"] = looked_at
    context["login_url"] = responses.login_url()
    if status["state"] == "pending":
        context.update(_refresh(order_id, context["next"]))
    else:
        context["closed"] = True  # no code to show: the order is over
    return render(request, "qrauth/signin.html", context, status=http_status)


@qrauth_view(flow=FLOW)
def signin_picture(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The plain QR image of this browser's approve order (no JavaScript)."""
    return picture(request, FLOW, auth_code, SCAN_VIEW)


@qrauth_view(("POST",), flow=FLOW)
def collect_signin(request: HttpRequest, auth_code: str) -> HttpResponse:
    """Sign this browser in if a phone approved its order; else show the status."""
    collected = steps.collect(request, auth_code)
    if collected.kind == "signed_in_meanwhile":
        return responses.redirect_after(request, django_settings.LOGIN_REDIRECT_URL)
    if collected.kind == "status":
        return _status_page(request, auth_code, collected.status)
    if collected.kind == "continue_as":
        return _continue_as(request, auth_code, collected.account)
    if collected.kind == "refused":
        refused = outcome("failed", "refused", flow=FLOW.value)
        return _page(request, auth_code, refused, http_status=403)
    messages.success(request, _("You are signed in."), fail_silently=True)
    return responses.redirect_after(request, django_settings.LOGIN_REDIRECT_URL)


def _continue_as(request: HttpRequest, auth_code: str, user) -> HttpResponse:
    """A phone approved: name the account before this screen becomes it."""
    context = {
        "auth_code": auth_code,
        "account": user,
        "account_name": responses.display_name(user),
        "next": responses.safe_next(request, ""),
    }
    return render(request, "qrauth/continue_as.html", context)
