"""Hand-off: a signed-in desktop shows a QR code, a phone scans it and is
signed in as the same user.

Only the POST of the confirmation form uses a code up. Link previewers and
QR apps that prefetch the scan URL send GET or HEAD, which at most record
that the code was scanned.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from .. import binding, signals, store, tokens
from ..backends import check_order_user
from ..conf import settings
from ..devices import describe_user_agent
from ..links import scan_url
from ..qr import render_png, render_svg
from .common import protected, safe_next

__all__ = ["invalid_code", "qr_code_login", "qr_code_page", "qr_code_picture"]

logger = logging.getLogger(__name__)

FLOW = "handoff"


@login_required
@require_GET
@protected
def qr_code_page(request: HttpRequest) -> HttpResponse:
    """Issue an order for this user and browser; replaces its previous one."""
    previous = binding.bound_order(request, FLOW)
    if previous:
        store.cancel_order(*previous)
    order_id = tokens.new_secret()
    binding_digest = binding.bind_order(request, FLOW, order_id)
    store.issue_order(order_id, request.user.pk, tokens.auth_digest(request.user), binding_digest)
    ref = tokens.order_ref(order_id)
    logger.info("qrauth: order %s issued", ref)
    signals.issued.send(sender=FLOW, request=request, user=request.user, order_ref=ref)
    lifetime = settings.EXPIRATION_TIME
    context = {
        "auth_code": order_id,
        "expiration_time": lifetime,
        "lifetime": _duration(lifetime),
        "expires_at": timezone.now() + timedelta(seconds=lifetime),
    }
    return render(request, "qrauth/page.html", context)


@require_GET
@protected
def qr_code_picture(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The QR image of this browser's order; 404 for anyone else."""
    image_format = request.GET.get("format", "png")
    if image_format not in ("png", "svg"):
        return HttpResponseBadRequest("format must be png or svg")
    bound = binding.owns_order(request, FLOW, auth_code) if request.user.is_authenticated else None
    if bound is None or not store.mint_static_code(auth_code, bound[1], request.user.pk):
        raise Http404("no such QR code")
    content = scan_url(request, tokens.scan_token(auth_code))
    if image_format == "svg":
        return HttpResponse(
            render_svg(content, settings.IMAGE_BOX_SIZE), content_type="image/svg+xml"
        )
    return HttpResponse(render_png(content, settings.IMAGE_BOX_SIZE), content_type="image/png")


def _invalid(
    request: HttpRequest, order_ref: str | None, user=None, reason: str = "invalid"
) -> HttpResponse:
    logger.info("qrauth: order %s refused: %s", order_ref, reason)
    signals.rejected.send(
        sender=FLOW, request=request, user=user, order_ref=order_ref, reason=reason
    )
    return redirect("invalid_auth_code")


@require_http_methods(["GET", "HEAD", "POST"])
@protected
def qr_code_login(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The scan URL: GET asks "sign in as ...?", only POST signs in."""
    order_id = tokens.parse_scan_token(auth_code)
    if order_id is None:
        return _invalid(request, None)
    if request.method == "POST":
        return _confirm(request, order_id)
    return _ask(request, order_id, auth_code)


def _device(request: HttpRequest) -> str:
    return describe_user_agent(request.headers.get("User-Agent", ""))


def _ask(request: HttpRequest, order_id: str, auth_code: str) -> HttpResponse:
    if request.method == "HEAD":
        order = store.peek_order(order_id)
    else:
        order = store.record_scan(order_id, _device(request))
    if order is None or not order.is_open or not order.minted:
        return _invalid(request, tokens.order_ref(order_id))
    user, reason = check_order_user(order)
    if reason is not None:
        return _invalid(request, order.ref, user, reason)
    if request.method == "GET":
        signals.scanned.send(
            sender=FLOW, request=request, user=user, order_ref=order.ref, device=order.device
        )
    context = {
        "auth_code": auth_code,
        "account": user,
        "account_name": _display_name(user),
        "next": safe_next(request, ""),
        "cancel_url": "/",
    }
    return render(request, "qrauth/confirm.html", context)


def _confirm(request: HttpRequest, order_id: str) -> HttpResponse:
    order = store.consume_order(order_id, _device(request))
    if order is None:
        return _invalid(request, tokens.order_ref(order_id))
    user = authenticate(request, qrauth_order=order)
    if user is None:
        return redirect("invalid_auth_code")
    login(request, user)
    messages.success(request, _("You are now signed in on this device."), fail_silently=True)
    logger.info("qrauth: order %s signed in a device", order.ref)
    signals.signed_in.send(sender=FLOW, request=request, user=user, order_ref=order.ref)
    return redirect(safe_next(request, settings.REDIRECT_URL))


def _duration(seconds: int) -> str:
    """ "5 minutes", "90 seconds": exact, unlike the timeuntil filter."""
    if seconds % 60 == 0:
        minutes = seconds // 60
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}


def _display_name(user) -> str:
    full_name = getattr(user, "get_full_name", lambda: "")()
    return full_name or user.get_username()


@require_GET
@protected
def invalid_code(request: HttpRequest) -> HttpResponse:
    return render(
        request, "qrauth/invalid_code.html", {"login_url": resolve_url(django_settings.LOGIN_URL)}
    )
