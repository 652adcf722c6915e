"""Binding an order to the browser that asked for it.

The browser's session keeps a random secret per flow; the order in Redis
keeps only its keyed hash. Another browser, even one signed in as the same
user, cannot fetch the image, poll or cancel the order.
"""

from __future__ import annotations

import base64
import hmac
import logging
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import signed_cookies
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.crypto import salted_hmac

from . import store, tokens
from .conf import settings as qrauth_settings
from .store import Order

HANDOFF = "handoff"
APPROVE = "approve"
FLOWS = (HANDOFF, APPROVE)

__all__ = [
    "bind_order",
    "bound_order",
    "cancel_left_behind",
    "claimer_digest",
    "existing_claimer_digest",
    "find_order",
    "forget_order",
    "forget_scan",
    "is_claimer",
    "issuer_still_bound",
    "owns_order",
    "remember_scan",
    "remembered_scan",
    "scan_vouched",
    "seal_session_key",
    "session_id",
]

logger = logging.getLogger(__name__)

_SESSION_KEY = "qrauth"
_SESSION_ID_KEY = "qrauth_session"
_CLAIMER_KEY = "qrauth_claimer"


def bind_order(request: HttpRequest, flow: str, order_id: str) -> str:
    """Remember ``order_id`` in this browser; return the binding digest."""
    secret = tokens.new_secret()
    orders = dict(request.session.get(_SESSION_KEY, {}))
    orders[flow] = [order_id, secret]
    request.session[_SESSION_KEY] = orders
    return tokens.binding_digest(secret)


def bound_order(request: HttpRequest, flow: str) -> tuple[str, str] | None:
    """This browser's current order of ``flow``: (order id, binding digest)."""
    entry = request.session.get(_SESSION_KEY, {}).get(flow)
    if not entry:
        return None
    order_id, secret = entry
    return order_id, tokens.binding_digest(secret)


def owns_order(request: HttpRequest, flow: str, order_id: str) -> tuple[str, str] | None:
    """Like ``bound_order``, but only if it is ``order_id`` (constant time)."""
    bound = bound_order(request, flow)
    if bound is None or not hmac.compare_digest(bound[0].encode(), order_id.encode()):
        return None
    return bound


def find_order(request: HttpRequest, order_id: str) -> tuple[str, str, str] | None:
    """(flow, order id, binding digest) of this browser's order ``order_id``."""
    for flow in FLOWS:
        bound = owns_order(request, flow, order_id)
        if bound is not None:
            return (flow, *bound)
    return None


def forget_order(request: HttpRequest, flow: str) -> None:
    orders = dict(request.session.get(_SESSION_KEY, {}))
    if orders.pop(flow, None) is not None:
        request.session[_SESSION_KEY] = orders


def session_id(request: HttpRequest) -> str:
    """A random id of this browser's session, kept in it: what the limits
    per session count by. It stays put under every session engine, where a
    signed-cookie session's key is its data, new with every write; and
    unlike a session key it is no credential. A flushed session (logout,
    another user) starts with a new one."""
    value = request.session.get(_SESSION_ID_KEY)
    if not value:
        value = request.session[_SESSION_ID_KEY] = tokens.new_secret()
    return value


# -- the scanning session -------------------------------------------------------


def claimer_digest(request: HttpRequest) -> str:
    """What an approve order keeps of the phone session that answered it:
    the keyed hash of a random secret that this session keeps for good."""
    secret = request.session.get(_CLAIMER_KEY)
    if not secret:
        secret = request.session[_CLAIMER_KEY] = tokens.new_secret()
    return _claimer_of(secret)


def _claimer_of(secret: str) -> str:
    return tokens.keyed_hash("claimer", secret)


def existing_claimer_digest(request: HttpRequest) -> str | None:
    """``claimer_digest`` of a session that has one; None, and no session
    write, for any other."""
    secret = request.session.get(_CLAIMER_KEY)
    return _claimer_of(secret) if secret else None


def is_claimer(request: HttpRequest, claimer: str) -> bool:
    """Whether this session is the one behind ``claimer`` (changes nothing)."""
    secret = request.session.get(_CLAIMER_KEY)
    if not secret or not claimer:
        return False
    return hmac.compare_digest(_claimer_of(secret).encode(), claimer.encode())


# The scan a phone made rides in a signed cookie, not in its session: the
# hand-off's phone is not signed in, and a session written for every scan
# would cost each one a database row (and anonymous traffic unbounded
# writes). The cookie is set only when the scanned code was fresh, so it also
# vouches for it: a phone may answer after its frame's tolerance, within the
# order's life. It keeps the order id and the frame, never the code: only
# the server can rebuild the token. It goes back to qrauth's URLs only, and
# lets the scan URL answer with a redirect to a page without the token, so
# the token sits in no address bar, history entry or page script.
_SCAN_COOKIE = "qrauth_scan"
_SCAN_SALT = "qrauth.binding.scan"


def _qrauth_path() -> str:
    """The path every qrauth URL shares: ``/qr/`` of ``path("qr/", include(...))``."""
    return reverse("qr_code_page")


def remember_scan(request: HttpRequest, response: HttpResponse, token: tokens.ScanToken) -> None:
    """Keep the scan ``token`` (fresh now) in this browser, for the order's life."""
    value = f"{token.order_id}.{'' if token.elapsed is None else token.elapsed}"
    response.set_signed_cookie(
        _SCAN_COOKIE,
        value,
        salt=_SCAN_SALT,
        max_age=qrauth_settings.EXPIRATION_TIME,
        path=_qrauth_path(),
        # As good as the token: never over plain HTTP where sessions are not.
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def remembered_scan(request: HttpRequest) -> tuple[str, tokens.ScanToken] | None:
    """The scan ``remember_scan`` kept: (its token, rebuilt, and the token's
    parts), or None."""
    value = request.get_signed_cookie(
        _SCAN_COOKIE, default="", salt=_SCAN_SALT, max_age=qrauth_settings.EXPIRATION_TIME
    )
    order_id, _, elapsed = value.partition(".")
    if not tokens.is_order_id(order_id) or not (elapsed == "" or elapsed.isdigit()):
        return None
    if not elapsed:
        return tokens.scan_token(order_id), tokens.ScanToken(order_id, None)
    token = tokens.ScanToken(order_id, int(elapsed))
    return tokens.frame_token(order_id, token.elapsed), token


def scan_vouched(request: HttpRequest, scan_token: str) -> bool:
    """Whether this browser saw ``scan_token`` fresh (its scan cookie is for it)."""
    remembered = remembered_scan(request)
    kept = remembered[0] if remembered else ""
    return hmac.compare_digest(kept.encode(), scan_token.encode())


def forget_scan(request: HttpRequest, response: HttpResponse) -> None:
    """Use the scan cookie up (whatever it said), if the browser sent one."""
    if _SCAN_COOKIE in request.COOKIES:
        response.delete_cookie(_SCAN_COOKIE, path=_qrauth_path(), samesite="Lax")


# -- the issuing session, as the source of truth -------------------------------
#
# Cancelling an order at logout is best effort: Redis may be down, a browser
# may switch user without logging out (login() flushes the session without
# the logout signal), two page loads may race. So the order also carries the
# issuing session's key, sealed, and a scan only counts while that session
# is still signed in as the order's user and still points at this order.
#
# A signed-cookie session lives in the browser alone: there is nothing on
# the server to load, and its key is the session's data, signed (a
# credential that must not go to Redis). Under it the order is the source
# of truth, and every way a browser lets go of its code cancels the order:
# a newer code (in the Redis call that issues it), logout (apps.py), and a
# login as someone else, which flushes the session without the logout
# signal (``cancel_left_behind``, from the session the browser's cookie
# still carried). What stays open: a logout while Redis is unreachable
# leaves the code working until it expires, as a copied signed-cookie
# session outlives its logout in Django itself.


def _sessions_on_server() -> bool:
    """Whether SESSION_ENGINE keeps sessions on the server: every engine
    Django ships but signed_cookies does."""
    engine = import_module(settings.SESSION_ENGINE).SessionStore
    return not issubclass(engine, signed_cookies.SessionStore)


def _keystream(order_id: str, length: int) -> bytes:
    # HMAC-SHA256 under SECRET_KEY as a pseudo-random function, with the
    # order id (random, never reused) as the nonce: a one-time pad.
    blocks = (
        salted_hmac("qrauth.seal", f"{order_id}:{i}", algorithm="sha256").digest()
        for i in range(length // 32 + 1)
    )
    return b"".join(blocks)[:length]


def _xor(order_id: str, data: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, _keystream(order_id, len(data)), strict=True))


def seal_session_key(order_id: str, session_key: str) -> str:
    """The session key, unreadable without SECRET_KEY and the order id; ""
    for a signed-cookie session, which has nothing on the server to load."""
    if not _sessions_on_server():
        return ""
    return base64.urlsafe_b64encode(_xor(order_id, session_key.encode())).decode("ascii")


def _unseal(order_id: str, sealed: str) -> str | None:
    try:
        return _xor(order_id, base64.urlsafe_b64decode(sealed.encode("ascii"))).decode()
    except (ValueError, UnicodeError):
        return None


def issuer_still_bound(order: Order) -> bool:
    """Whether the browser that issued ``order`` is still signed in as its
    user and still shows this order."""
    if not _sessions_on_server():
        return True  # the order's own state says so: see above
    session_key = _unseal(order.id, order.issuer)
    if not session_key:
        return False
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    entry = session.get(_SESSION_KEY, {}).get(HANDOFF)
    if not entry or str(session.get(SESSION_KEY)) != order.user_id:
        return False
    return hmac.compare_digest(entry[0].encode(), order.id.encode())


def cancel_left_behind(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: a login that replaced a signed-cookie
    session (as another user) cancels the hand-off code of the session
    before. A session kept on the server needs nothing: that login deleted
    it, and ``issuer_still_bound`` finds it gone. Logging in must work while
    Redis is down, so a failure is only logged."""
    if request is None or not hasattr(request, "session") or _sessions_on_server():
        return
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not cookie:
        return
    before = import_module(settings.SESSION_ENGINE).SessionStore(cookie)
    entry = before.get(_SESSION_KEY, {}).get(HANDOFF)
    if not entry or entry == request.session.get(_SESSION_KEY, {}).get(HANDOFF):
        return  # no code, or a login that kept the session (the same user)
    order_id, secret = entry
    try:
        store.cancel_order(order_id, tokens.binding_digest(secret))
    except Exception:  # logging in must never fail because of us
        logger.warning("qrauth: could not cancel an order at a change of user", exc_info=True)
