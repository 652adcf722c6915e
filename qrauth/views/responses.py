"""Answers more than one view gives: a code that does not work, Redis away,
a rate limit, where to go next, and what a page showing a code needs.

Every page that ends a flow offers a way on (the ``home_url`` of
AUTH_QR_CODE_REDIRECT_URL, the login page, a new code, or trying again).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext

from ..conf import settings
from ..flows import push
from ..model import Flow, State
from ..wording import describe, outcome

__all__ = [
    "code_page_context",
    "events_url",
    "display_name",
    "duration",
    "home_url",
    "invalid",
    "limited_json",
    "limited_page",
    "login_url",
    "not_allowed",
    "redirect_after",
    "redirect_to_step_up",
    "safe_next",
    "stale",
    "step_up_url",
    "unavailable_json",
    "unavailable_status",
    "unavailable_page",
]


def home_url() -> str:
    """Where a page that ends a flow sends people on: AUTH_QR_CODE_REDIRECT_URL,
    or "/" while it names no URL (check qrauth.W003 says so): a link must
    not turn a page into a 500."""
    try:
        return resolve_url(settings.REDIRECT_URL)
    except NoReverseMatch:
        return "/"


def login_url() -> str:
    return resolve_url(django_settings.LOGIN_URL)


# Scan URLs carry a token in their path: never written into a page.
_SCAN_URLS = ("qr_code_login", "qrauth_approve")


def _retry_url(request: HttpRequest) -> str:
    """The same page again, for a GET that is not a scan URL's."""
    match = getattr(request, "resolver_match", None)
    if request.method != "GET" or (match and match.url_name in _SCAN_URLS):
        return ""
    return request.get_full_path()


def _ways_on(request: HttpRequest) -> dict[str, Any]:
    """The links of a page that stopped a request: the same page again (a
    GET only: a link must not send a form again), and the site, or for a
    visitor who is not signed in, the login page."""
    user = getattr(request, "user", None)
    return {
        "retry_url": _retry_url(request),
        "home_url": home_url(),
        "signed_in": bool(user and user.is_authenticated),
        "login_url": login_url(),
    }


def unavailable_page(request: HttpRequest) -> HttpResponse:
    return render(request, "qrauth/unavailable.html", _ways_on(request), status=503)


def unavailable_status() -> dict[str, Any]:
    """The status while Redis is away: polled (a 503) or pushed (an event)."""
    return {**outcome("failed", "unavailable"), "frame": None}


def unavailable_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(unavailable_status(), status=503)


def limited_page(request: HttpRequest, retry_after: int) -> HttpResponse:
    context = {**_ways_on(request), "wait": duration(retry_after), "retry_after": retry_after}
    return render(request, "qrauth/rate_limited.html", context, status=429)


def limited_json(request: HttpRequest, retry_after: int) -> HttpResponse:
    # "slow_down": RFC 8628's word for "poll less often". The order is as it
    # was; the page keeps its code and waits.
    payload = {**outcome("pending", "slow_down"), "retry_after": retry_after, "frame": None}
    return JsonResponse(payload, status=429)


def invalid(request: HttpRequest) -> HttpResponse:
    """The 0.1.x answer to a code that does not work: to ``invalid_auth_code``."""
    return redirect("invalid_auth_code")


def stale(request: HttpRequest) -> HttpResponse:
    """An animated frame that is no longer on the screen."""
    return render(request, "qrauth/stale_code.html", {"home_url": home_url()})


def not_allowed(request: HttpRequest) -> HttpResponse:
    """The site's policy keeps this account from signing in with a code."""
    return render(request, "qrauth/not_allowed.html", {"home_url": home_url()}, status=403)


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


def _step_up_view() -> str:
    return resolve_url(settings.STEP_UP_URL or "qrauth_step_up")


def redirect_to_step_up(request: HttpRequest) -> HttpResponse:
    """To the step-up view, and back to this page after it."""
    return redirect_to_login(request.get_full_path(), _step_up_view(), "next")


def step_up_url(next_url: str) -> str:
    """The step-up view's URL, back to ``next_url`` after it."""
    return redirect_to_login(next_url, _step_up_view(), "next")["Location"]


def display_name(user: Any) -> str:
    full_name = getattr(user, "get_full_name", lambda: "")()
    return full_name or user.get_username()


def duration(seconds: int) -> str:
    """ "5 minutes", "90 seconds": exact, unlike the timeuntil filter."""
    if seconds % 60 == 0:
        minutes = seconds // 60
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}


def code_page_context(order_id: str, flow: Flow | None = None) -> dict[str, Any]:
    """What a page showing the code of ``order_id`` needs, whatever the flow
    (and, given its ``flow``, the words for a new code)."""
    lifetime = settings.EXPIRATION_TIME
    words = describe(State.PENDING, flow=flow.value) if flow else {}
    return {
        **words,
        "auth_code": order_id,
        "expiration_time": lifetime,
        "lifetime": duration(lifetime),
        "expires_at": timezone.now() + timedelta(seconds=lifetime),
        "animated": settings.ANIMATED,
        "home_url": home_url(),
    }


def events_url(request: HttpRequest, view_name: str, auth_code: str) -> str:
    """The event stream a waiting page listens to, or "" where it polls
    (AUTH_QR_CODE_PUSH, and whether this request came through ASGI)."""
    return reverse(view_name, args=[auth_code]) if push.wanted(request) else ""
