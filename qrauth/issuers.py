"""The browser that shows a code: what binds an order to it, and which of
its orders is the current one.

Its session keeps one random secret, written once, with the first code it
shows; every order it issues keeps only a keyed hash of that secret and
the order's id, the binding digest, which the store compares in Redis (so
Redis cannot tell which orders one browser issued). Another browser, even
one signed in as the same user, cannot fetch the image, poll or cancel the
order.

Which order is the browser's current one, per flow, rides in a cookie
signed for the session's secret: showing a code writes no session,
and a session that is flushed (logout, another user) no longer owns the
codes its cookie names. The cookie goes to the whole site (the logout view
cancels the code it names) and holds order ids only, never a code. Under
the signed_cookies session engine, where writing the session costs no more
than a cookie, the codes stay in the session itself, so that even a logout
that sends no other cookie finds them.

Sessions of earlier builds kept a secret per order (``session["qrauth"]``);
their orders stay theirs until they are replaced (``_legacy``).
"""

from __future__ import annotations

import hmac
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import signed_cookies
from django.core import signing
from django.http import HttpRequest, HttpResponse

from . import tokens
from .model import Flow

__all__ = [
    "bind_order",
    "binds",
    "bound_order",
    "find_order",
    "forget_order",
    "order_of",
    "owned_order",
    "save",
    "session_holder",
    "session_id",
    "sessions_on_server",
]

_SECRET_KEY = "qrauth_session"  # the session's one secret
_LEGACY_KEY = "qrauth"  # earlier builds: {flow: [order id, secret]}
_CODES_KEY = "qrauth_codes"  # signed_cookies only: {flow: order id}
COOKIE = "qrauth_codes"
_SALT = "qrauth.issuers.codes"
_PENDING = "_qrauth_codes"  # this request's new codes, until the response
_READ = "_qrauth_codes_read"  # the codes cookie as this request read it

Bound = tuple[str, str]  # (order id, binding digest)


def sessions_on_server() -> bool:
    """Whether SESSION_ENGINE keeps sessions on the server: every engine
    Django ships but signed_cookies does."""
    engine = import_module(settings.SESSION_ENGINE).SessionStore
    return not issubclass(engine, signed_cookies.SessionStore)


def session_id(request: HttpRequest) -> str:
    """The session's secret, made on first use: what the binding digest and
    the limits per session are made from. It stays put under every session
    engine, where a signed-cookie session's key is its data, new with every
    write; and unlike a session key it is no credential. A flushed session
    (logout, another user) starts with a new one."""
    value = request.session.get(_SECRET_KEY)
    if not value:
        value = request.session[_SECRET_KEY] = tokens.new_secret()
    return value


def session_holder(request: HttpRequest) -> str | None:
    """Who this browser session is, for a count per session that writes
    nothing to it: a keyed hash of its secret; None for a session without
    one (it has shown no code)."""
    secret = request.session.get(_SECRET_KEY)
    return _digest(secret, "streams") if secret else None


def _digest(secret: str, order_id: str) -> str:
    """What an order keeps of the session's secret: a keyed hash of it and
    the order, so that Redis cannot tell which orders one browser issued."""
    return tokens.binding_digest(f"{secret}:{order_id}")


def _signer(secret: str) -> signing.Signer:
    # Signed for this session's secret (SECRET_KEY and its fallbacks, as
    # Django signs): the cookie of another session, even an earlier one of
    # this browser, does not verify. No timestamp: the session's life is
    # the cookie's.
    return signing.Signer(salt=f"{_SALT}:{secret}")


def _codes(request: HttpRequest) -> dict[str, str]:
    """Flow name -> order id: this request's, else the cookie's (read once)."""
    pending = getattr(request, _PENDING, None)
    if pending is not None:
        return pending
    read = getattr(request, _READ, None)
    if read is None:
        read = _listed(request.session, request.COOKIES)
        setattr(request, _READ, read)
    return read


def _listed(session: Any, cookies: dict[str, str]) -> dict[str, str]:
    """The codes cookie's flow name -> order id, if it is ``session``'s."""
    if not sessions_on_server():
        return dict(session.get(_CODES_KEY, {}))
    secret = session.get(_SECRET_KEY)
    if not secret or COOKIE not in cookies:
        return {}
    try:
        listed = _signer(secret).unsign(cookies[COOKIE])
    except signing.BadSignature:
        return {}
    pairs = (item.partition("=") for item in listed.split("|") if item)
    return {flow: order_id for flow, _, order_id in pairs if tokens.is_order_id(order_id)}


def bind_order(request: HttpRequest, flow: Flow, order_id: str) -> str:
    """Make ``order_id`` this browser's current order of ``flow`` (saved with
    the response: ``save``); return its binding digest."""
    codes = {**_codes(request), flow.value: order_id}
    setattr(request, _PENDING, codes)
    _drop_legacy(request, flow)
    return _digest(session_id(request), order_id)


def forget_order(request: HttpRequest, flow: Flow) -> None:
    """This browser no longer has a current order of ``flow``."""
    codes = _codes(request)
    if flow.value in codes or getattr(request, _PENDING, None) is not None:
        setattr(request, _PENDING, {k: v for k, v in codes.items() if k != flow.value})
    _drop_legacy(request, flow)


def bound_order(request: HttpRequest, flow: Flow) -> Bound | None:
    """This browser's current order of ``flow``: (order id, binding digest)."""
    return _bound(request.session, _codes(request), flow)


def owned_order(request: HttpRequest, flow: Flow, order_id: str) -> Bound | None:
    """Like ``bound_order``, but only if it is ``order_id`` (constant time)."""
    bound = bound_order(request, flow)
    if bound is None or not hmac.compare_digest(bound[0].encode(), order_id.encode()):
        return None
    return bound


def find_order(request: HttpRequest, order_id: str) -> tuple[Flow, str, str] | None:
    """(flow, order id, binding digest) of this browser's order ``order_id``."""
    for flow in Flow:
        bound = owned_order(request, flow, order_id)
        if bound is not None:
            return (flow, *bound)
    return None


def binds(session: Any, order_id: str, binding: str) -> bool:
    """Whether ``session`` (any SessionStore) is the one whose orders carry
    ``binding``: it still holds the secret (or, in an earlier build's session, this order)."""
    secret = session.get(_SECRET_KEY)
    if secret and hmac.compare_digest(_digest(secret, order_id).encode(), binding.encode()):
        return True
    entry = session.get(_LEGACY_KEY, {}).get(Flow.HANDOFF.value)
    return bool(entry) and hmac.compare_digest(entry[0].encode(), order_id.encode())


def order_of(session: Any, cookies: dict[str, str], flow: Flow) -> Bound | None:
    """The current order of ``flow`` of a session other than the request's
    (the one a login replaced), from the codes cookie the browser sent."""
    return _bound(session, _listed(session, cookies), flow)


def _bound(session: Any, codes: dict[str, str], flow: Flow) -> Bound | None:
    """The order of ``flow`` that ``codes`` name for ``session``, else the
    one an earlier build's session kept with its own secret."""
    order_id = codes.get(flow.value)
    if order_id:
        return order_id, _digest(session[_SECRET_KEY], order_id)
    entry = session.get(_LEGACY_KEY, {}).get(flow.value)
    return (entry[0], tokens.binding_digest(entry[1])) if entry else None


def save(request: HttpRequest, response: HttpResponse) -> None:
    """Send this request's new codes to the browser, if it has any."""
    codes = getattr(request, _PENDING, None)
    if codes is None:
        return
    if not sessions_on_server():
        request.session[_CODES_KEY] = codes
        return
    path, domain = settings.SESSION_COOKIE_PATH, settings.SESSION_COOKIE_DOMAIN
    if not codes:
        response.delete_cookie(COOKIE, path=path, domain=domain, samesite="Lax")
        return
    listed = "|".join(f"{flow}={order_id}" for flow, order_id in sorted(codes.items()))
    response.set_cookie(
        COOKIE,
        _signer(request.session[_SECRET_KEY]).sign(listed),
        # As long as the session's cookie: the page of a code that expired
        # must still hear "expired" from its poll, not 404.
        max_age=None if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE else settings.SESSION_COOKIE_AGE,
        path=path,
        domain=domain,
        # As good as the session: never over plain HTTP where sessions are not.
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _drop_legacy(request: HttpRequest, flow: Flow) -> None:
    orders = request.session.get(_LEGACY_KEY)
    if orders and flow.value in orders:
        request.session[_LEGACY_KEY] = {k: v for k, v in orders.items() if k != flow.value}
