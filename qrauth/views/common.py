"""What every qrauth view shares: protective headers, the Redis-down page,
starting an order for this browser, its QR image, and where to go next."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext

from .. import binding, clock, limits, signals, store, tokens
from ..conf import settings
from ..links import scan_url
from ..messages import outcome
from ..qr import ContentTooLong, render_png, render_svg
from ..store import OverLimit, StoreUnavailable

__all__ = [
    "authenticate_order",
    "code_page_context",
    "display_name",
    "invalid",
    "protected",
    "protected_json",
    "qr_picture",
    "redirect_after",
    "safe_next",
    "sign_in",
    "stale",
    "start_order",
]

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]

REFERRER_POLICY = "strict-origin"


def _unavailable_page(request: HttpRequest) -> HttpResponse:
    return render(request, "qrauth/unavailable.html", status=503)


def _unavailable_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse({**outcome("failed", "unavailable"), "frame": None}, status=503)


def _limited_page(request: HttpRequest, retry_after: int) -> HttpResponse:
    context = {"wait": _duration(retry_after)}
    return render(request, "qrauth/rate_limited.html", context, status=429)


def _limited_json(request: HttpRequest, retry_after: int) -> HttpResponse:
    # "slow_down": RFC 8628's word for "poll less often". The order is as it
    # was; the page keeps its code and waits.
    payload = {**outcome("pending", "slow_down"), "retry_after": retry_after, "frame": None}
    return JsonResponse(payload, status=429)


def _already_logged(response: HttpResponse, retry_after: float) -> HttpResponse:
    response["Retry-After"] = str(max(math.ceil(retry_after), 1))
    # The store logs an outage or a limit reached once. Without this flag
    # Django would log every 503 and 429 on django.request (and mail the
    # admins an error for each poll while Redis is down).
    response._has_been_logged = True
    return response


_Snapshot = tuple[dict[str, Any], Any]  # a session's data, and its key


def _session_data(request: HttpRequest) -> _Snapshot | None:
    session = getattr(request, "session", None)
    return None if session is None else (dict(session.items()), session.session_key)


def _restore_session(request: HttpRequest, snapshot: _Snapshot | None) -> None:
    """Undo what a refused request did to its session, so that nothing is
    saved: a flood of refused requests must not fill the session store
    (one new session each), nor a refusal move a browser's code on. A key
    that changed meanwhile (Django rotates it when a SECRET_KEY_FALLBACKS
    key authenticated the user, deleting the old session) is saved all the
    same, with the data as it was, or the browser would be signed out."""
    if snapshot is None or not request.session.modified:
        return
    data, key = snapshot
    request.session.clear()
    request.session.update(data)
    request.session.modified = request.session.session_key != key


def protected(
    view: View,
    unavailable: Callable[[HttpRequest], HttpResponse] = _unavailable_page,
    limited: Callable[[HttpRequest, int], HttpResponse] = _limited_page,
) -> View:
    """Headers for pages and images that carry or use a code, and a 503 page
    for people (never a traceback) while Redis is unreachable.

    No framing (a code in a frame is a code an attacker's page can show),
    no caching (a code in a cache outlives its order), a Referer of the
    origin only (the scan URL must not reach a log or a third party through
    whatever a page loads or links to).

    Not "no-referrer": under it a browser sends ``Origin: null`` and no
    Referer with the page's own form POSTs, and Django's CSRF check rejects
    them. Under "strict-origin" both carry the origin, which is all Django
    compares.

    Over a rate limit: a 429 with Retry-After.

    A request refused either way leaves the session as it came: it writes
    nothing to the session store.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session_before = _session_data(request)
        try:
            response = view(request, *args, **kwargs)
        except StoreUnavailable:
            _restore_session(request, session_before)
            backoff = settings.REDIS_FAILURE_BACKOFF
            response = _already_logged(unavailable(request), backoff)
        except OverLimit as over:
            _restore_session(request, session_before)
            wait = max(math.ceil(over.retry_after), 1)
            response = _already_logged(limited(request, wait), wait)
        add_never_cache_headers(response)
        response["X-Frame-Options"] = "DENY"
        response["Referrer-Policy"] = REFERRER_POLICY
        return response

    return wrapper


def protected_json(view: View) -> View:
    """``protected`` for JSON endpoints: the 503 and the 429 are JSON too."""
    return protected(view, _unavailable_json, _limited_json)


# Longer than any sensible page address; also under the length Django's
# redirect responses refuse (which would turn a sign-in into a 400).
_NEXT_MAX = 2000


def safe_next(request: HttpRequest, default: str) -> str:
    """``next`` from the form or query string if it stays on this site."""
    # Stripped as Django's own check strips it, so that what is checked is
    # what is returned.
    candidate = (request.POST.get("next") or request.GET.get("next") or "").strip()
    if len(candidate) > _NEXT_MAX:
        return default
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def redirect_after(request: HttpRequest, default: str) -> HttpResponse:
    """To a safe ``next``, else to ``default`` (a URL, path or URL name)."""
    next_url = safe_next(request, "")
    if next_url:  # a URL, never a URL name for redirect() to reverse
        return HttpResponseRedirect(next_url)
    return redirect(default)


def invalid(
    request: HttpRequest, flow: str, order_ref: str | None, user=None, reason: str = "invalid"
) -> HttpResponse:
    """The 0.1.x answer to a code that does not work: to ``invalid_auth_code``.
    Counted against the client's network (AUTH_QR_CODE_SCAN_FAILURES_PER_IP)."""
    limits.scan_failed(request)
    logger.info("qrauth: order %s refused: %s", order_ref, reason)
    signals.rejected.send(
        sender=flow, request=request, user=user, order_ref=order_ref, reason=reason
    )
    return redirect("invalid_auth_code")


def stale(request: HttpRequest) -> HttpResponse:
    """An animated frame that is no longer on the screen; counted as
    ``invalid`` is."""
    limits.scan_failed(request)
    return render(request, "qrauth/stale_code.html")


BACKEND = "qrauth.backends.QRAuthBackend"


def authenticate_order(request: HttpRequest, order: store.Order) -> Any:
    """The order's user, if QRAuthBackend vouches for them now, else None.

    authenticate() tries every backend in turn: a site backend listed first
    that answers for any credentials must not sign someone else in."""
    user = authenticate(request, qrauth_order=order)
    if user is None or getattr(user, "backend", None) != BACKEND:
        return None
    return user if str(user.pk) == order.user_id else None


def sign_in(
    request: HttpRequest, user: Any, order: store.Order, flow: str, default: str, told: str = ""
) -> HttpResponse:
    """Log ``user`` in on this device (a new session), say so (``told``, as a
    Django message), log and signal it, and go on to ``next`` or ``default``."""
    login(request, user)
    if told:
        messages.success(request, told, fail_silently=True)
    logger.info("qrauth: order %s signed in a device", order.ref)
    signals.signed_in.send(sender=flow, request=request, user=user, order_ref=order.ref)
    return redirect_after(request, default)


def display_name(user: Any) -> str:
    full_name = getattr(user, "get_full_name", lambda: "")()
    return full_name or user.get_username()


# -- the browser that shows a code -------------------------------------------------


def start_order(request: HttpRequest, flow: str) -> tuple[str, str, store.Issue]:
    """A new order id bound to this browser: (order id, binding digest, and
    what the store does with it: cancel this browser's previous order of
    ``flow``, count the rate limits). The caller stores the order; the
    session is saved with the response, and only if the store took it
    (``protected``)."""
    previous = binding.bound_order(request, flow)
    order_id = tokens.new_secret()
    binding_digest = binding.bind_order(request, flow, order_id)
    issue = store.Issue(replaces=previous, limits=limits.order_limits(request, flow))
    return order_id, binding_digest, issue


def _duration(seconds: int) -> str:
    """ "5 minutes", "90 seconds": exact, unlike the timeuntil filter."""
    if seconds % 60 == 0:
        minutes = seconds // 60
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}


def code_page_context(order_id: str) -> dict[str, Any]:
    """What a page showing the code of ``order_id`` needs, whatever the flow."""
    lifetime = settings.EXPIRATION_TIME
    return {
        "auth_code": order_id,
        "expiration_time": lifetime,
        "lifetime": _duration(lifetime),
        "expires_at": timezone.now() + timedelta(seconds=lifetime),
        "animated": settings.ANIMATED,
    }


_RENDERERS = {"png": (render_png, "image/png"), "svg": (render_svg, "image/svg+xml")}


def qr_picture(
    request: HttpRequest, flow: str, auth_code: str, scan_view: str, user_id: Any = ""
) -> HttpResponse:
    """The plain QR image of this browser's order of ``flow``; 404 for
    anyone else. A hand-off's carries its static code, which works only
    once the image was fetched; an approve order's carries the frame of
    now, stale in AUTH_QR_CODE_FRAME_TOLERANCE seconds: the browser asking
    to be signed in may be an attacker's, and a code it could send a
    victim must go stale before the victim acts on it."""
    image_format = request.GET.get("format", "png")
    if image_format not in _RENDERERS:
        return HttpResponseBadRequest("format must be png or svg")
    bound = binding.owns_order(request, flow, auth_code)
    created = None if bound is None else store.picture_created(auth_code, bound[1], user_id)
    if created is None:
        raise Http404("no such QR code")
    if flow == binding.HANDOFF:
        token = tokens.scan_token(auth_code)
    else:
        token = tokens.frame_token(auth_code, max(clock.now() - created, 0))
    content = scan_url(request, token, scan_view)
    render_image, content_type = _RENDERERS[image_format]
    try:
        image = render_image(content, settings.IMAGE_BOX_SIZE)
    except ContentTooLong:
        return HttpResponseBadRequest("the scan URL is too long for a QR code")
    return HttpResponse(image, content_type=content_type)
