"""Hand-off: a signed-in desktop shows a QR code, a phone scans it and is
signed in as the same user.

Only the POST of the confirmation form uses a code up. Link previewers and
QR apps that prefetch the scan URL send GET or HEAD, which at most record
that the code was scanned. A GET of the scan URL keeps the scan in a
cookie and moves on to ``qrauth_continue``, the same question without the
token in the address bar, the history or the page.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from .. import binding, signals, store, tokens
from .._compat import login_not_required
from ..backends import check_order_user
from ..conf import settings
from ..devices import describe_user_agent
from ..messages import describe
from ..policy import HANDOFF, requires_flow, user_may_use
from ..stepup import needs_step_up
from .common import (
    authenticate_order,
    code_page_context,
    display_name,
    invalid,
    protected,
    qr_picture,
    redirect_after,
    safe_next,
    sign_in,
    stale,
    start_order,
)
from .confirm import ask_desktop
from .step_up import redirect_to_step_up

__all__ = ["handoff_continue", "invalid_code", "qr_code_login", "qr_code_page", "qr_code_picture"]

logger = logging.getLogger(__name__)

FLOW = HANDOFF


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


@requires_flow(FLOW)
@login_required
@require_GET
@protected
def qr_code_page(request: HttpRequest) -> HttpResponse:
    """Issue an order for this user and browser; replaces its previous one."""
    if _from_elsewhere(request):
        return render(request, "qrauth/show_code.html")
    if not user_may_use(request, request.user, FLOW):
        return render(request, "qrauth/not_allowed.html", status=403)
    if needs_step_up(request):
        return redirect_to_step_up(request)
    order_id, binding_digest, issue = start_order(request, FLOW)
    issuer = binding.seal_session_key(order_id, request.session.session_key)
    auth = tokens.auth_digest(request.user)
    store.issue_order(order_id, request.user.pk, auth, binding_digest, issuer, issue)
    ref = tokens.order_ref(order_id)
    logger.info("qrauth: order %s issued", ref)
    signals.issued.send(sender=FLOW, request=request, user=request.user, order_ref=ref)
    context = {**code_page_context(order_id), **describe(store.PENDING)}
    context["desktop_confirmation"] = settings.DESKTOP_CONFIRMATION
    return render(request, "qrauth/page.html", context)


@requires_flow(FLOW)
@require_GET
@protected
def qr_code_picture(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The QR image of this browser's order; 404 for anyone else."""
    if not request.user.is_authenticated:
        raise Http404("no such QR code")
    return qr_picture(request, FLOW, auth_code, "qr_code_login", request.user.pk)


@requires_flow(FLOW)
@login_not_required
@csrf_protect  # even on a site without CsrfViewMiddleware
@require_http_methods(["GET", "HEAD", "POST"])
@protected
def qr_code_login(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The scan URL: GET notes the scan and moves on to ``qrauth_continue``,
    which asks "sign in as ...?"; only POST signs in."""
    token = tokens.parse_scan_token(auth_code)
    if token is None:
        return invalid(request, FLOW, None)
    if request.method == "POST":
        return _answer(request, token, auth_code)
    # Redis only: who the code signs in as is for the page it leads to.
    order, refused = _usable(request, token)
    if refused is not None:
        return refused
    response = _to_continue(request)
    if request.method == "GET":
        binding.remember_scan(request, response, token)
    return response


@requires_flow(FLOW)
@login_not_required
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
@protected
def handoff_continue(request: HttpRequest) -> HttpResponse:
    """The phone's question for the code it scanned last (kept in a cookie):
    "sign in as ...?", with Continue and Cancel."""
    remembered = binding.remembered_scan(request)
    if remembered is None:
        return invalid(request, FLOW, None)
    auth_code, token = remembered
    if request.method == "POST":
        return _answer(request, token, auth_code)
    order, refused = _usable(request, token, binding.scan_vouched(request, auth_code))
    if refused is not None:
        return refused
    user, reason = check_order_user(order, request)
    if reason is not None:
        return invalid(request, FLOW, order.ref, user, reason)
    if request.method == "GET":
        signals.scanned.send(
            sender=FLOW, request=request, user=user, order_ref=order.ref, device=order.device
        )
    context = {
        "account": user,
        "account_name": display_name(user),
        "signed_in_as": _other_account(request, user),
        "next": safe_next(request, ""),
    }
    return render(request, "qrauth/confirm.html", context)


def _to_continue(request: HttpRequest) -> HttpResponse:
    """To ``qrauth_continue``, with the scan URL's ``next`` if it is safe."""
    next_url = safe_next(request, "")
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return HttpResponseRedirect(reverse("qrauth_continue") + query)


def _answer(request: HttpRequest, token: tokens.ScanToken, auth_code: str) -> HttpResponse:
    vouched = binding.scan_vouched(request, auth_code)
    if request.POST.get("action") == "decline":
        response = _decline(request, token, vouched)
    else:
        response = _confirm(request, token, vouched)
    binding.forget_scan(request, response)
    return response


def _device(request: HttpRequest) -> str:
    return describe_user_agent(request.headers.get("User-Agent", ""))


def _usable(
    request: HttpRequest, token: tokens.ScanToken, vouched: bool = False
) -> tuple[store.Order | None, HttpResponse | None]:
    """(the order, None) if the token may use it now; else (None, the answer
    for a code that does not work)."""
    if request.method == "HEAD":  # looks, records nothing
        order = store.peek_order(token.order_id, token, vouched)
    else:
        order = store.record_scan(token, _device(request), vouched)
    if order is None or not order.is_open or order.flow != store.HANDOFF:
        return None, invalid(request, FLOW, tokens.order_ref(token.order_id))
    if not order.usable:
        if token.elapsed is None:  # a static code whose image was never shown
            return None, invalid(request, FLOW, order.ref)
        return None, stale(request)
    return order, None


def _other_account(request: HttpRequest, account) -> str:
    """The name of the account this browser is signed in as, if it is not
    ``account``: switching must be said before it happens."""
    if not request.user.is_authenticated or request.user.pk == account.pk:
        return ""
    return display_name(request.user)


def _confirm(request: HttpRequest, token: tokens.ScanToken, vouched: bool) -> HttpResponse:
    if settings.DESKTOP_CONFIRMATION:
        return ask_desktop(request, token, vouched)
    order = store.consume_order(token, _device(request), vouched)
    if order is None:
        return invalid(request, FLOW, tokens.order_ref(token.order_id))
    user = authenticate_order(request, order)
    if user is None:
        return redirect("invalid_auth_code")  # the backend said why
    told = _("You are now signed in on this device.")
    return sign_in(request, user, order, FLOW, settings.REDIRECT_URL, told)


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
    return redirect_after(request, "/")


@login_not_required
@require_GET
@protected
def invalid_code(request: HttpRequest) -> HttpResponse:
    return render(
        request, "qrauth/invalid_code.html", {"login_url": resolve_url(django_settings.LOGIN_URL)}
    )
