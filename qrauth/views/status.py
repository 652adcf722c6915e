"""The issuing browser's live view of its order, for either flow: a JSON
status with the current animated frame, polled once a second, and the
Cancel button.

Only the browser that issued the order gets either; anyone else gets 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from .. import binding, clock, store, tokens
from .._compat import login_not_required
from ..conf import settings
from ..links import scan_url
from ..messages import describe
from ..policy import APPROVE
from .common import protected, protected_json

__all__ = ["cancel_code", "code_status", "number_on_screen", "status_payload"]

# Where each flow's frames send the phone.
SCAN_VIEWS = {binding.HANDOFF: "qr_code_login", binding.APPROVE: "qrauth_approve"}


def _bound(request: HttpRequest, auth_code: str) -> tuple[str, str, str]:
    # The binding lives in the session, which Django flushes at logout and at
    # a change of user: no need to load the user on every poll.
    found = binding.find_order(request, auth_code)
    if found is None:
        raise Http404("no such code")
    return found


def number_on_screen(order_id: str, state: str, matching: str, viewer: str) -> str:
    """The number the requesting screen shows, or "": only while scanned,
    and only once a signed-in phone session looks at the code (approve,
    number matching): the number is that session's own."""
    if state != store.SCANNED or not matching or not viewer:
        return ""
    return tokens.match_number(order_id, viewer)


def status_payload(request: HttpRequest, flow: str, order_id: str, binding_digest: str) -> dict:
    """``{state, hint, message, expires_in, device, number, frame}``, one round trip."""
    try:
        status = store.order_status(order_id, binding_digest)
    except LookupError:
        raise Http404("no such code") from None
    if status is None:
        gone = describe(None, flow=flow)
        return {**gone, "expires_in": 0, "device": "", "number": None, "frame": None}
    # The number is for the eyes of whoever stands at this screen, once a
    # phone scanned: the phone must type it (approve, number matching).
    number = number_on_screen(order_id, status.state, status.number, status.viewer)
    address = status.address if status.state == store.ASKING_DESKTOP else ""
    payload: dict[str, Any] = {
        **describe(status.state, status.device, flow, number, address),
        "expires_in": round(status.expires_in, 1),
        "device": status.device,
        "number": number or None,
        "frame": None,
    }
    if status.state in (store.PENDING, store.SCANNED) and settings.ANIMATED:
        elapsed = max(clock.now() - status.created, 0)
        token = tokens.frame_token(order_id, elapsed)
        payload["frame"] = scan_url(request, token, SCAN_VIEWS[flow])
    return payload


@login_not_required  # the approve flow's browser is not signed in
@require_GET
@protected_json
def code_status(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The status of this browser's order ``auth_code``, of either flow."""
    return JsonResponse(status_payload(request, *_bound(request, auth_code)))


@login_not_required
@csrf_protect  # even on a site without CsrfViewMiddleware
@require_POST
@protected
def cancel_code(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The Cancel button of a QR page: the code stops working at once."""
    flow, order_id, binding_digest = _bound(request, auth_code)
    if store.cancel_order(order_id, binding_digest):
        messages.info(request, _("The code was cancelled."), fail_silently=True)
    if flow == APPROVE:  # a browser that is not signed in: back to the login page
        return redirect(resolve_url(django_settings.LOGIN_URL))
    return redirect(settings.REDIRECT_URL)
