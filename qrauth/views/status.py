"""The issuing browser's live view of its order, for either flow: a JSON
status with the current animated frame, polled once a second, and the
Cancel button (the steps: qrauth/flows/codes.py).

Only the browser that issued the order gets either; anyone else gets 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.utils.translation import gettext as _

from ..conf import settings
from ..flows import codes
from ..links import scan_url
from ..model import Flow, State
from ..wording import describe
from .decorators import qrauth_view

__all__ = ["cancel_code", "code_status", "status_payload"]

# Where each flow's frames send the phone.
SCAN_VIEWS = {Flow.HANDOFF: "qr_code_login", Flow.APPROVE: "qrauth_approve"}


def status_payload(request: HttpRequest, status: codes.CodeStatus) -> dict[str, Any]:
    """``{state, hint, message, tone, expires_in, device, number, frame,
    show_code}``; ``show_code``: whether the page shows the code now (not
    once it is over, nor once a signed-in phone has an approve code open)."""
    flow = status.flow.value
    if status.state is None:
        gone = describe(None, flow=flow)
        return {
            **gone,
            "expires_in": 0,
            "device": "",
            "number": None,
            "frame": None,
            "show_code": False,
        }
    frame = status.frame and scan_url(request, status.frame, SCAN_VIEWS[status.flow])
    return {
        **describe(status.state, status.device, flow, status.number, status.address),
        "expires_in": round(status.expires_in, 1),
        "device": status.device,
        "number": status.number or None,
        "frame": frame or None,
        "show_code": status.state in State.OPEN and not status.looked_at,
    }


@qrauth_view(json=True)  # login=False: the approve flow's browser is not signed in
def code_status(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The status of this browser's order ``auth_code``, of either flow."""
    return JsonResponse(status_payload(request, codes.status(request, auth_code)))


@qrauth_view(("POST",))
def cancel_code(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The Cancel button of a QR page: the code stops working at once."""
    flow, cancelled = codes.cancel(request, auth_code)
    if cancelled:
        messages.info(request, _("The code was cancelled."), fail_silently=True)
    if flow == Flow.APPROVE:  # a browser that is not signed in: back to the login page
        return redirect(resolve_url(django_settings.LOGIN_URL))
    return redirect(settings.REDIRECT_URL)
