"""What every qrauth view shares: protective headers and the Redis-down page."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

from ..conf import settings
from ..messages import outcome
from ..store import StoreUnavailable

__all__ = ["protected", "protected_json", "safe_next"]

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]

REFERRER_POLICY = "strict-origin"


def _unavailable_page(request: HttpRequest) -> HttpResponse:
    return render(request, "qrauth/unavailable.html", status=503)


def _unavailable_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse({**outcome("failed", "unavailable"), "frame": None}, status=503)


def _answer_503(response: HttpResponse) -> HttpResponse:
    response["Retry-After"] = str(int(settings.REDIS_FAILURE_BACKOFF))
    # The store logs an outage once. Without this flag Django would log every
    # 503 as an error on django.request (and mail the admins for each poll).
    response._has_been_logged = True
    return response


def protected(
    view: View, unavailable: Callable[[HttpRequest], HttpResponse] = _unavailable_page
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
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except StoreUnavailable:
            response = _answer_503(unavailable(request))
        add_never_cache_headers(response)
        response["X-Frame-Options"] = "DENY"
        response["Referrer-Policy"] = REFERRER_POLICY
        return response

    return wrapper


def protected_json(view: View) -> View:
    """``protected`` for JSON endpoints: the 503 is JSON too."""
    return protected(view, _unavailable_json)


def safe_next(request: HttpRequest, default: str) -> str:
    """``next`` from the form or query string if it stays on this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
