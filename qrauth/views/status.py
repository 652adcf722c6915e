"""The issuing browser's live view of its order: a JSON status with the
current animated frame, polled once a second, and the Cancel button.

Only the browser that issued the order gets either; anyone else gets 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import binding, store, tokens
from ..conf import settings
from ..links import scan_url
from ..messages import describe
from .common import protected, protected_json

__all__ = ["cancel_code", "code_status"]

FLOW = "handoff"


def _bound(request: HttpRequest, auth_code: str) -> tuple[str, str]:
    # The binding lives in the session, which Django flushes at logout and at
    # a change of user: no need to load the user on every poll.
    bound = binding.owns_order(request, FLOW, auth_code)
    if bound is None:
        raise Http404("no such code")
    return bound


@require_GET
@protected_json
def code_status(request: HttpRequest, auth_code: str) -> HttpResponse:
    """``{state, hint, message, expires_in, device, frame}`` in one round trip."""
    order_id, binding_digest = _bound(request, auth_code)
    try:
        status = store.order_status(order_id, binding_digest)
    except LookupError:
        raise Http404("no such code") from None
    if status is None:
        return JsonResponse({**describe(None), "expires_in": 0, "device": "", "frame": None})
    payload = {
        **describe(status.state, status.device),
        "expires_in": round(status.expires_in, 1),
        "device": status.device,
        "frame": None,
    }
    if payload["state"] == "pending" and settings.ANIMATED:
        elapsed = max(store.now() - status.created, 0)
        payload["frame"] = scan_url(request, tokens.frame_token(order_id, elapsed))
    return JsonResponse(payload)


@require_POST
@protected
def cancel_code(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The Cancel button of the QR page: the code stops working at once."""
    if store.cancel_order(*_bound(request, auth_code)):
        messages.info(request, _("The code was cancelled."), fail_silently=True)
    return redirect(settings.REDIRECT_URL)
