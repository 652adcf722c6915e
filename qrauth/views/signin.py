"""Approve, the desktop's side: a browser that is not signed in shows an
animated QR code; once a signed-in phone approves it, this browser collects
the sign-in with a POST and is signed in as the phone's user.

The status poll only reports "approved"; it never signs in. Signing in is
the POST of the page's Continue form (sent by the page's script, or by a
person without JavaScript), from the browser that issued the order only;
it first names the account ("Continue as alice?") and signs in only when
the person at this screen says so (AUTH_QR_CODE_CONFIRM_ACCOUNT), so a
stranger who scanned this screen with their own account cannot silently
make it theirs.

Without JavaScript the page shows a plain image of the current frame,
which goes stale like any frame, and reloads itself (a meta refresh) to
show the next one: no code that lives for the order's whole life ever
appears on this screen.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings as django_settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from .. import binding, signals, store, tokens
from .._compat import login_not_required
from ..backends import check_order_user
from ..conf import settings
from ..devices import client_ip, describe_user_agent
from ..messages import describe, outcome
from ..policy import APPROVE, requires_flow
from .common import (
    authenticate_order,
    code_page_context,
    display_name,
    protected,
    qr_picture,
    redirect_after,
    safe_next,
    sign_in,
    start_order,
)
from .status import number_on_screen

__all__ = ["collect_signin", "signin", "signin_picture"]

logger = logging.getLogger(__name__)

FLOW = APPROVE
SCAN_VIEW = "qrauth_approve"


@requires_flow(FLOW)
@login_not_required
@require_GET
@protected
def signin(request: HttpRequest) -> HttpResponse:
    """Show a new code for a phone to approve; replaces this browser's previous one."""
    if request.user.is_authenticated:
        return redirect_after(request, django_settings.LOGIN_REDIRECT_URL)
    shown = _shown_again(request)
    if shown is not None:
        return shown
    order_id, binding_digest, issue = start_order(request, FLOW)
    requester = describe_user_agent(request.headers.get("User-Agent", ""))
    address = client_ip(request)
    matching = settings.NUMBER_MATCHING
    store.issue_approve_order(order_id, binding_digest, requester, address, matching, issue)
    ref = tokens.order_ref(order_id)
    logger.info("qrauth: order %s issued", ref)
    signals.issued.send(sender=FLOW, request=request, user=None, order_ref=ref)
    return _page(request, order_id, describe(store.PENDING, flow=FLOW))


def _shown_again(request: HttpRequest) -> HttpResponse | None:
    """The page reloading itself without JavaScript (``?code=``, its meta
    refresh): this browser's order again, with the frame of now. None when
    ``code`` is not this browser's order, or the order is gone."""
    code = request.GET.get("code", "")
    bound = binding.owns_order(request, FLOW, code) if code else None
    if bound is None:
        return None
    try:
        status = store.order_status(*bound)
    except LookupError:
        return None
    if status is None:
        return None
    number = number_on_screen(code, status.state, status.number, status.viewer)
    return _page(request, code, describe(status.state, status.device, FLOW, number), number)


def _refresh(order_id: str, next_url: str) -> dict:
    """How the page keeps its plain image fresh without JavaScript: reload
    well within the frame tolerance, so a scanned image is never stale."""
    query = {"code": order_id, **({"next": next_url} if next_url else {})}
    return {
        "refresh_seconds": max(settings.FRAME_TOLERANCE // 2, 1),
        "refresh_url": f"{reverse('qrauth_signin')}?{urlencode(query)}",
    }


def _page(
    request: HttpRequest, order_id: str, status: dict, number: str = "", http_status: int = 200
) -> HttpResponse:
    context = {**code_page_context(order_id), **status, "number": number}
    context["next"] = safe_next(request, "")
    if status["state"] == "pending":
        context.update(_refresh(order_id, context["next"]))
    else:
        context["closed"] = True  # no code to show: the order is over
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
    confirmed = not settings.CONFIRM_ACCOUNT or request.POST.get("confirm") == "account"
    collected = _collect(bound, take=confirmed)
    if collected is None:
        return _page(request, auth_code, describe(None, flow=FLOW))
    order = collected.order
    if not collected.signed_in:  # not approved (yet): say where it stands
        number = number_on_screen(auth_code, order.state, order.number, order.viewer)
        status = describe(order.state, order.device, FLOW, number)
        return _page(request, auth_code, status, number)
    if not confirmed:
        user, reason = check_order_user(order, request)
        if reason is None:
            return _continue_as(request, auth_code, user)
        collected = _collect(bound, take=True)  # to refuse it, below
        if collected is None or not collected.signed_in:
            return _page(request, auth_code, describe(None, flow=FLOW))
        order = collected.order
    user = authenticate_order(request, order)
    if user is None:  # the backend logged and signalled why
        store.refuse_order(*bound)
        refused = outcome("failed", "refused", flow=FLOW)
        return _page(request, auth_code, refused, http_status=403)
    binding.forget_order(request, FLOW)
    default = django_settings.LOGIN_REDIRECT_URL
    return sign_in(request, user, order, FLOW, default, _("You are signed in."))


def _collect(bound: tuple[str, str], take: bool) -> store.Collected | None:
    try:
        return store.collect_order(*bound, take=take)
    except LookupError:
        raise Http404("no such code") from None


def _continue_as(request: HttpRequest, auth_code: str, user) -> HttpResponse:
    """A phone approved: name the account before this screen becomes it."""
    context = {
        "auth_code": auth_code,
        "account": user,
        "account_name": display_name(user),
        "next": safe_next(request, ""),
    }
    return render(request, "qrauth/continue_as.html", context)
