"""The issuing session as the source of truth for a hand-off code.

Cancelling an order at logout is best effort: Redis may be down, a browser
may switch user without logging out (login() flushes the session without
the logout signal). So a hand-off order also carries the issuing session's
key, sealed (AES-GCM, qrauth/sealing.py), and a scan only counts while that
session is still signed in as the order's user and still holds the secret
the order is bound to (issuers.binds). Which of its codes the session shows
now is the browser's to say (the codes cookie), not the server's: a newer
code cancels the one before in the Redis round trip that stores it, and a
code replaced while that cookie was lost lives out its life (at most
AUTH_QR_CODE_EXPIRATION_TIME) unless its session signs out.

A signed-cookie session lives in the browser alone: there is nothing on
the server to load, and its key is the session's data, signed (a
credential that must not go to Redis). Under it the order is the source of
truth, and every way a browser lets go of its code cancels the order: a
newer code (in the Redis call that issues it), logout (``cancel_at_logout``),
and a login as someone else, which flushes the session without the logout
signal (``cancel_left_behind``, from the session the browser's cookie still
carried). What stays open: a logout while Redis is unreachable leaves the
code working until it expires, as a copied signed-cookie session outlives
its logout in Django itself.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest

from . import issuers, sealing, store, tokens
from .issuers import sessions_on_server
from .model import Flow, Order

__all__ = ["cancel_at_logout", "cancel_left_behind", "issuer_still_bound", "seal_session_key"]

logger = logging.getLogger(__name__)


def _engine() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def seal_session_key(order_id: str, session_key: str) -> str:
    """The session key, unreadable and unforgeable without SECRET_KEY, and
    good for this order only; "" for a signed-cookie session, which has
    nothing on the server to load."""
    if not sessions_on_server():
        return ""
    return sealing.seal(tokens.order_ref(order_id), session_key)


def issuer_still_bound(order: Order) -> bool:
    """Whether the browser that issued ``order`` is still signed in as its
    user and still holds the secret the order is bound to. A sealed key
    that does not open (edited in Redis) binds nothing."""
    if not sessions_on_server():
        return True  # the order's own state says so: see above
    session_key = sealing.open_sealed(order.id, order.ref, order.issuer)
    if not session_key:
        return False
    session = _engine()(session_key)
    if str(session.get(SESSION_KEY)) != order.user_id:
        return False
    return issuers.binds(session, order.id, order.binding)


def cancel_at_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_out`` receiver: a browser that signs out takes its
    hand-off code with it. Runs before Django flushes the session, while
    the binding is still there. Logging out must work while Redis is down,
    so a failure is only logged (not a hole: a scan also checks that this
    session still holds the order)."""
    if request is None or not hasattr(request, "session"):
        return
    _cancel(issuers.bound_order(request, Flow.HANDOFF), "at logout")


def cancel_left_behind(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: a login that replaced a signed-cookie
    session (as another user) cancels the hand-off code of the session
    before. A session kept on the server needs nothing: that login deleted
    it, and ``issuer_still_bound`` finds it gone."""
    if request is None or not hasattr(request, "session") or sessions_on_server():
        return
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not cookie:
        return
    before = issuers.order_of(_engine()(cookie), request.COOKIES, Flow.HANDOFF)
    if before is None or before == issuers.bound_order(request, Flow.HANDOFF):
        return  # no code, or a login that kept the session (the same user)
    _cancel(before, "at a change of user")


def _cancel(bound: tuple[str, str] | None, when: str) -> None:
    if bound is None:
        return
    try:
        store.cancel_order(*bound)
    except Exception:  # signing in or out must never fail because of us
        logger.warning("qrauth: could not cancel an order %s", when, exc_info=True)
