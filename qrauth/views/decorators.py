"""``qrauth_view``: the one decorator every qrauth view wears.

It stacks, in this order: the flow being on (404 while it is off), who may
come (login required, or open even under LoginRequiredMiddleware), CSRF on
a view that takes POST, the allowed methods (405), and ``protected``: the
headers of a page that carries a code, a 503 or 429 for people (or JSON)
instead of a traceback, and qrauth's cookies (the browser's codes, the
phone's scan) saved only with an answer that was not refused.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from .. import issuers, scans
from .._compat import login_not_required
from ..conf import settings
from ..model import Flow, OverLimit, StoreUnavailable
from ..policy import requires_flow
from . import responses

__all__ = ["REFERRER_POLICY", "already_logged", "protect_headers", "protected", "qrauth_view"]

View = Callable[..., HttpResponse]

REFERRER_POLICY = "strict-origin"


def qrauth_view(
    methods: Sequence[str] = ("GET",),
    flow: Flow | None = None,
    login: bool | None = False,
    json: bool = False,
) -> Callable[[View], View]:
    """``login``: True requires a signed-in user (to LOGIN_URL otherwise),
    False lets anyone in, None leaves it to the view (and the site's
    LoginRequiredMiddleware). ``json``: the 503 and 429 are JSON."""

    def decorate(view: View) -> View:
        if json:
            wrapped = protected(view, responses.unavailable_json, responses.limited_json)
        else:
            wrapped = protected(view, responses.unavailable_page, responses.limited_page)
        wrapped = require_http_methods(list(methods))(wrapped)
        if "POST" in methods:
            wrapped = csrf_protect(wrapped)  # even on a site without CsrfViewMiddleware
        if login is True:
            wrapped = login_required(wrapped)
        elif login is False:
            wrapped = login_not_required(wrapped)
        if flow is not None:
            wrapped = requires_flow(flow.value)(wrapped)
        return wrapped

    return decorate


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
    unavailable: Callable[[HttpRequest], HttpResponse],
    limited: Callable[[HttpRequest, int], HttpResponse],
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

    A request refused either way leaves the session as it came, and the
    browser's codes cookie too: it writes nothing to the session store.
    ``unavailable`` and ``limited`` answer those two refusals.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session_before = _session_data(request)
        try:
            response = view(request, *args, **kwargs)
        except StoreUnavailable:
            _restore_session(request, session_before)
            backoff = settings.REDIS_FAILURE_BACKOFF
            response = already_logged(unavailable(request), backoff)
        except OverLimit as over:
            _restore_session(request, session_before)
            wait = max(math.ceil(over.retry_after), 1)
            response = already_logged(limited(request, wait), wait)
        else:
            issuers.save(request, response)
            scans.save(request, response)
        return protect_headers(response)

    return wrapper


def protect_headers(response: HttpResponse) -> HttpResponse:
    """No caching, no framing, the origin only as Referer (see ``protected``)."""
    add_never_cache_headers(response)
    response["X-Frame-Options"] = "DENY"
    response["Referrer-Policy"] = REFERRER_POLICY
    return response


def already_logged(response: HttpResponse, retry_after: float) -> HttpResponse:
    response["Retry-After"] = str(max(math.ceil(retry_after), 1))
    # The store logs an outage or a limit reached once. Without this flag
    # Django would log every 503 and 429 on django.request (and mail the
    # admins an error for each poll while Redis is down).
    response._has_been_logged = True
    return response
