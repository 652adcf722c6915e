"""Hand-off: a signed-in desktop shows a QR code, a phone scans it and is
signed in as the same user.

Only the POST of the confirmation form uses a code up. Link previewers and
QR apps that prefetch the scan URL send GET or HEAD, which at most record
that the code was scanned.
"""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from .. import binding, signals, store, tokens
from .._compat import login_not_required
from ..backends import check_order_user
from ..conf import settings
from ..devices import describe_user_agent
from ..links import scan_url
from ..messages import describe
from ..qr import ContentTooLong, render_png, render_svg
from .common import protected, safe_next

__all__ = ["invalid_code", "qr_code_login", "qr_code_page", "qr_code_picture"]

logger = logging.getLogger(__name__)

FLOW = "handoff"
BACKEND = "qrauth.backends.QRAuthBackend"


# A link from another site must not put a live code on the screen (think of
# a link dropped in the chat of a screen-sharing call): such a visit gets a
# button first, and the click on it comes from this site.
_FOREIGN_NAVIGATION = ("cross-site", "same-site")


@login_required
@require_GET
@protected
def qr_code_page(request: HttpRequest) -> HttpResponse:
    """Issue an order for this user and browser; replaces its previous one."""
    if request.headers.get("Sec-Fetch-Site") in _FOREIGN_NAVIGATION:
        return render(request, "qrauth/show_code.html")
    previous = binding.bound_order(request, FLOW)
    if previous:
        store.cancel_order(*previous)
    order_id = tokens.new_secret()
    binding_digest = binding.bind_order(request, FLOW, order_id)
    if request.session.session_key is None:
        request.session.save()
    issuer = binding.seal_session_key(order_id, request.session.session_key)
    auth = tokens.auth_digest(request.user)
    store.issue_order(order_id, request.user.pk, auth, binding_digest, issuer)
    ref = tokens.order_ref(order_id)
    logger.info("qrauth: order %s issued", ref)
    signals.issued.send(sender=FLOW, request=request, user=request.user, order_ref=ref)
    lifetime = settings.EXPIRATION_TIME
    context = {
        "auth_code": order_id,
        "expiration_time": lifetime,
        "lifetime": _duration(lifetime),
        "expires_at": timezone.now() + timedelta(seconds=lifetime),
        "animated": settings.ANIMATED,
        **describe(store.PENDING),
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
    render_image, content_type = _RENDERERS[image_format]
    try:
        image = render_image(content, settings.IMAGE_BOX_SIZE)
    except ContentTooLong:
        return HttpResponseBadRequest("the scan URL is too long for a QR code")
    return HttpResponse(image, content_type=content_type)


_RENDERERS = {"png": (render_png, "image/png"), "svg": (render_svg, "image/svg+xml")}


def _invalid(
    request: HttpRequest, order_ref: str | None, user=None, reason: str = "invalid"
) -> HttpResponse:
    logger.info("qrauth: order %s refused: %s", order_ref, reason)
    signals.rejected.send(
        sender=FLOW, request=request, user=user, order_ref=order_ref, reason=reason
    )
    return redirect("invalid_auth_code")


@login_not_required
@csrf_protect  # even on a site without CsrfViewMiddleware
@require_http_methods(["GET", "HEAD", "POST"])
@protected
def qr_code_login(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The scan URL: GET asks "sign in as ...?", only POST signs in."""
    token = tokens.parse_scan_token(auth_code)
    if token is None:
        return _invalid(request, None)
    if request.method != "POST":
        return _ask(request, token, auth_code)
    vouched = hmac.compare_digest(request.session.pop(_VOUCHER, ""), _voucher(auth_code))
    if request.POST.get("action") == "decline":
        return _decline(request, token, vouched)
    return _confirm(request, token, vouched)


def _device(request: HttpRequest) -> str:
    return describe_user_agent(request.headers.get("User-Agent", ""))


_VOUCHER = "qrauth_fresh_scan"


def _voucher(auth_code: str) -> str:
    return tokens.keyed_hash("vouch", auth_code)


def _ask(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> HttpResponse:
    if request.method == "HEAD":  # looks, records nothing
        order = store.peek_order(token.order_id)
        usable = order is not None and (token.elapsed is not None or order.minted)
    else:
        order = store.record_scan(token, _device(request))
        usable = order is not None and order.usable
    if order is None or not order.is_open:
        return _invalid(request, tokens.order_ref(token.order_id))
    if not usable:
        if token.elapsed is None:  # a static code whose image was never shown
            return _invalid(request, order.ref)
        return render(request, "qrauth/stale_code.html")
    user, reason = check_order_user(order)
    if reason is not None:
        return _invalid(request, order.ref, user, reason)
    if request.method == "GET":
        # The frame was fresh now: this phone may confirm after the frame's
        # tolerance, within the order's life (a person needs time to read).
        request.session[_VOUCHER] = _voucher(auth_code)
        signals.scanned.send(
            sender=FLOW, request=request, user=user, order_ref=order.ref, device=order.device
        )
    context = {
        "auth_code": auth_code,
        "account": user,
        "account_name": _display_name(user),
        "next": safe_next(request, ""),
    }
    return render(request, "qrauth/confirm.html", context)


def _confirm(request: HttpRequest, token: tokens.ScanToken, vouched: bool) -> HttpResponse:
    order = store.consume_order(token, _device(request), vouched)
    if order is None:
        return _invalid(request, tokens.order_ref(token.order_id))
    user = authenticate(request, qrauth_order=order)
    if not _is_order_user(user, order):
        return redirect("invalid_auth_code")
    login(request, user)
    messages.success(request, _("You are now signed in on this device."), fail_silently=True)
    logger.info("qrauth: order %s signed in a device", order.ref)
    signals.signed_in.send(sender=FLOW, request=request, user=user, order_ref=order.ref)
    return _redirect_after(request, settings.REDIRECT_URL)


def _is_order_user(user, order: store.Order) -> bool:
    """authenticate() tries every backend: accept only ours, for the order's user."""
    return (
        user is not None
        and getattr(user, "backend", None) == BACKEND
        and str(user.pk) == order.user_id
    )


def _decline(request: HttpRequest, token: tokens.ScanToken, vouched: bool) -> HttpResponse:
    if store.decline_order(token, vouched):
        ref = tokens.order_ref(token.order_id)
        logger.info("qrauth: order %s declined by its scanner", ref)
        signals.rejected.send(
            sender=FLOW, request=request, user=None, order_ref=ref, reason="declined"
        )
        messages.info(
            request, _("Nobody was signed in, and the code no longer works."), fail_silently=True
        )
    return _redirect_after(request, "/")


def _redirect_after(request: HttpRequest, default: str) -> HttpResponse:
    next_url = safe_next(request, "")
    if next_url:  # a URL, never a URL name for redirect() to reverse
        return HttpResponseRedirect(next_url)
    return redirect(default)


def _duration(seconds: int) -> str:
    """ "5 minutes", "90 seconds": exact, unlike the timeuntil filter."""
    if seconds % 60 == 0:
        minutes = seconds // 60
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}


def _display_name(user) -> str:
    full_name = getattr(user, "get_full_name", lambda: "")()
    return full_name or user.get_username()


@login_not_required
@require_GET
@protected
def invalid_code(request: HttpRequest) -> HttpResponse:
    return render(
        request, "qrauth/invalid_code.html", {"login_url": resolve_url(django_settings.LOGIN_URL)}
    )
