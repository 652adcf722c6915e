"""``api_view``: what every view of the JSON API shares.

Who is calling (a header credential, or the cookie session with its CSRF
token: qrauth/credentials.py says why never both), the methods it takes,
a JSON body, and every refusal as ``{"error": {"code", "message"}}`` with a
stable ``code`` an app can switch on and a ``message`` it can show. The
rest is ``protected``: no caching, no framing, and a 503 or 429 instead of
a traceback, with nothing saved from a refused request.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie

from .._compat import login_not_required
from ..credentials import InvalidCredential, authenticate_header
from ..model import Flow
from ..policy import flow_enabled
from .decorators import protected

__all__ = ["ApiError", "api_error", "api_view", "json_body"]

View = Callable[..., HttpResponse]

# code: (HTTP status, what a person may be told)
_ERRORS: dict[str, tuple[int, Any]] = {
    "bad_request": (400, _("The request is not one this API understands.")),
    "not_authenticated": (401, _("Sign in on this device first.")),
    "invalid_credential": (401, _("The app's sign-in is not valid any more: sign in again.")),
    "csrf_failed": (403, _("The request was refused: reload the page and try again.")),
    "not_allowed": (403, _("This account cannot be used to sign in with a QR code here.")),
    "step_up_required": (403, _("Confirm your password on this device first, then try again.")),
    "refused": (403, _("The sign-in was refused: this account cannot sign in with a code.")),
    "not_found": (404, _("There is nothing here.")),
    "invalid_code": (
        404,
        _("This code does not work: it expired, was used, or was cancelled. Scan a new one."),
    ),
    "method_not_allowed": (405, _("This address does not take that method.")),
    "taken": (409, _("This sign-in was already handled on another device.")),
    "answered": (409, _("You already answered this sign-in.")),
    "own_code": (409, _("This is the code this device shows: scan it with another device.")),
    "waiting": (409, _("The other screen has not allowed this sign-in yet.")),
    "stale_code": (410, _("The code on the screen has changed since: scan it again.")),
    "rate_limited": (429, _("Too many attempts: wait a moment, then try again.")),
    "unavailable": (503, _("Sign-in with a QR code is unavailable right now: try again soon.")),
}


class ApiError(Exception):
    """A refusal an API view raises: its ``code`` (a key of ``_ERRORS``)
    and anything else the answer carries (``state``)."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


def api_error(code: str, **extra: Any) -> JsonResponse:
    status, message = _ERRORS[code]
    payload = {"error": {"code": code, "message": str(message), **extra}}
    return JsonResponse(payload, status=status)


def json_body(request: HttpRequest, *fields: str) -> dict[str, str]:
    """The string ``fields`` of a JSON object body ("" for one left out);
    ApiError "bad_request" for any other body or a field that is no string."""
    try:
        body = json.loads(request.body or b"null")
    except RequestDataTooBig:
        raise ApiError("bad_request", detail="the body is too large") from None
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        raise ApiError("bad_request", detail="the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError("bad_request", detail="the body must be a JSON object")
    values = {name: body.get(name, "") for name in fields}
    wrong = sorted(name for name, value in values.items() if not isinstance(value, str))
    if wrong:
        raise ApiError("bad_request", detail=f"must be strings: {', '.join(wrong)}")
    return values


def _unavailable(request: HttpRequest) -> HttpResponse:
    return api_error("unavailable")


def _limited(request: HttpRequest, retry_after: int) -> HttpResponse:
    return api_error("rate_limited", retry_after=retry_after)


_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _csrf_refused(request: HttpRequest) -> bool:
    """Django's own CSRF check (token, Origin, Referer), whatever the
    site's middleware: the API's views are exempt from it only so that the
    refusal is JSON."""
    check = CsrfViewMiddleware(lambda request: HttpResponse())
    check.process_request(request)
    return check.process_view(request, None, (), {}) is not None


def _caller_refusal(request: HttpRequest, headers: bool) -> HttpResponse | None:
    """Who calls: a header credential (``headers``), else the cookie
    session, which must pass CSRF on a POST.

    Every POST is JSON, whatever it carries: a page of another site can send
    a form or text/plain without asking, but JSON only after a CORS
    preflight the site refuses. So a credential the browser adds by itself
    (HTTP Basic, a client certificate) cannot be made to sign devices out
    from another site, and Django's CSRF check never parses a form here."""
    if request.method in _UNSAFE and request.content_type != "application/json":
        return api_error("bad_request", detail="send Content-Type: application/json")
    if headers:
        try:
            if authenticate_header(request) is not None:
                return None
        except InvalidCredential:
            return api_error("invalid_credential")
    if request.method in _UNSAFE and _csrf_refused(request):
        return api_error("csrf_failed")
    return None


def api_view(
    methods: Sequence[str] = ("GET",), flow: Flow | None = None, headers: bool = True
) -> Callable[[View], View]:
    """A view of the JSON API. ``flow``: 404 while it is off. ``headers``:
    whether a header credential may stand for the user (the hand-off
    phone is signed in by a code, never by an app's token, so its views
    take the cookie session only)."""
    allowed = sorted({*methods, *(("HEAD",) if "GET" in methods else ())})

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if flow is not None and not flow_enabled(flow.value):
                return api_error("not_found")
            if request.method not in allowed:
                response = api_error("method_not_allowed")
                response["Allow"] = ", ".join(allowed)
                return response
            refused = _caller_refusal(request, headers)
            if refused is not None:
                return refused
            try:
                return view(request, *args, **kwargs)
            except ApiError as error:
                return api_error(error.code, **error.extra)
            except Http404:  # a wait that is not this session's, a device not the user's
                return api_error("not_found")

        wrapped = protected(answer, _unavailable, _limited)
        if "GET" in methods:  # a cookie caller's look hands out the CSRF cookie to answer with
            wrapped = ensure_csrf_cookie(wrapped)
        return login_not_required(csrf_exempt(wrapped))

    return decorate
