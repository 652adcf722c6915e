"""Approve, the desktop's side: a browser that is not signed in shows an
animated QR code; once a signed-in phone approves it, this browser collects
the sign-in with a POST and is signed in as the phone's user.

The status poll only reports "approved"; it never signs in. Signing in is
the POST of the page's Continue form (sent by the page's script, or by a
person without JavaScript), from the browser that issued the order only.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings as django_settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from .. import binding, signals, store, tokens
from .._compat import login_not_required
from ..conf import settings
from ..devices import client_ip, describe_user_agent
from ..messages import describe, outcome
from ..policy import APPROVE, requires_flow
from .common import (
    authenticate_order,
    code_page_context,
    protected,
    qr_picture,
    redirect_after,
    safe_next,
    sign_in,
    start_order,
)

__all__ = ["collect_signin", "signin", "signin_picture"]

logger = logging.getLogger(__name__)

FLOW = APPROVE
SCAN_VIEW = "qrauth_approve"


def _number() -> str:
    """Two digits for the phone to type, or "" without number matching."""
    if not settings.NUMBER_MATCHING:
        return ""
    return str(10 + secrets.randbelow(90))


@requires_flow(FLOW)
@login_not_required
@require_GET
@protected
def signin(request: HttpRequest) -> HttpResponse:
    """Show a new code for a phone to approve; replaces this browser's previous one."""
    if request.user.is_authenticated:
        return redirect_after(request, django_settings.LOGIN_REDIRECT_URL)
    order_id, binding_digest, issue = start_order(request, FLOW)
    requester = describe_user_agent(request.headers.get("User-Agent", ""))
    address = client_ip(request)
    store.issue_approve_order(order_id, binding_digest, requester, address, _number(), issue)
    ref = tokens.order_ref(order_id)
    logger.info("qrauth: order %s issued", ref)
    signals.issued.send(sender=FLOW, request=request, user=None, order_ref=ref)
    return _page(request, order_id, describe(store.PENDING, flow=FLOW))


def _page(
    request: HttpRequest, order_id: str, status: dict, number: str = "", http_status: int = 200
) -> HttpResponse:
    context = {**code_page_context(order_id), **status, "number": number}
    context["next"] = safe_next(request, "")
    return render(request, "qrauth/signin.html", context, status=http_status)


@requires_flow(FLOW)
@login_not_required
@require_GET
@protected
def signin_picture(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The plain QR image of this browser's approve order (no JavaScript)."""
    return qr_picture(request, FLOW, auth_code, SCAN_VIEW)


@requires_flow(FLOW)
@login_not_required
@csrf_protect  # even on a site without CsrfViewMiddleware
@require_POST
@protected
def collect_signin(request: HttpRequest, auth_code: str) -> HttpResponse:
    """Sign this browser in if a phone approved its order; else show the status."""
    bound = binding.owns_order(request, FLOW, auth_code)
    if bound is None:
        raise Http404("no such code")
    if request.user.is_authenticated:
        # Signed in meanwhile (with a password, in another tab): an approval
        # must not silently switch this browser to another account.
        store.cancel_order(*bound)
        binding.forget_order(request, FLOW)
        return redirect_after(request, django_settings.LOGIN_REDIRECT_URL)
    try:
        collected = store.collect_order(*bound)
    except LookupError:
        raise Http404("no such code") from None
    if collected is None:
        return _page(request, auth_code, describe(None, flow=FLOW))
    order = collected.order
    if not collected.signed_in:  # not approved (yet): say where it stands
        number = order.number if order.state == store.SCANNED else ""
        status = describe(order.state, order.device, FLOW, number)
        return _page(request, auth_code, status, number)
    user = authenticate_order(request, order)
    if user is None:  # the backend logged and signalled why
        store.refuse_order(*bound)
        refused = outcome("failed", "refused", flow=FLOW)
        return _page(request, auth_code, refused, http_status=403)
    binding.forget_order(request, FLOW)
    default = django_settings.LOGIN_REDIRECT_URL
    return sign_in(request, user, order, FLOW, default, _("You are signed in."))
