"""Binding an order to the browser that asked for it.

The browser's session keeps a random secret per flow; the order in Redis
keeps only its keyed hash. Another browser, even one signed in as the same
user, cannot fetch the image, poll or cancel the order.
"""

from __future__ import annotations

import base64
import hmac
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from . import tokens
from .conf import settings as qrauth_settings
from .store import Order

HANDOFF = "handoff"
APPROVE = "approve"
FLOWS = (HANDOFF, APPROVE)

__all__ = [
    "bind_order",
    "bound_order",
    "claimer_digest",
    "cookie_vouches_for",
    "existing_claimer_digest",
    "find_order",
    "forget_cookie_voucher",
    "forget_order",
    "is_claimer",
    "issuer_still_bound",
    "owns_order",
    "remember_scan",
    "remembered_scan",
    "seal_session_key",
    "take_voucher",
    "vouch_for",
    "vouch_in_cookie",
    "vouches_for",
]

_SESSION_KEY = "qrauth"
_CLAIMER_KEY = "qrauth_claimer"
_VOUCHER_KEY = "qrauth_fresh_scan"
_VOUCHER_COOKIE = "qrauth_fresh_scan"
_VOUCHER_SALT = "qrauth.binding.voucher"
_RESUME_KEY = "qrauth_resume"


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


def _voucher(scan_token: str) -> str:
    return tokens.keyed_hash("vouch", scan_token)


def vouch_for(request: HttpRequest, scan_token: str) -> None:
    """This session saw ``scan_token`` while its frame was fresh. It keeps
    the voucher through a sign-in (Django's login keeps a session's data),
    so a phone that must sign in first need not scan again."""
    request.session[_VOUCHER_KEY] = _voucher(scan_token)


def vouches_for(request: HttpRequest, scan_token: str) -> bool:
    return hmac.compare_digest(request.session.get(_VOUCHER_KEY, ""), _voucher(scan_token))


def take_voucher(request: HttpRequest, scan_token: str) -> bool:
    """``vouches_for``, and the voucher is used up whatever it said."""
    vouched = vouches_for(request, scan_token)
    request.session.pop(_VOUCHER_KEY, None)
    return vouched


# The hand-off's phone is not signed in: a session written only to hold the
# voucher would cost every scan a database write, and Django's login would
# replace that session a moment later. The voucher rides in a signed cookie
# instead, for the order's life at most, sent back to the scan URLs only
# (its path is theirs without the token, which it must not carry further).


def _scan_urls(request: HttpRequest) -> str:
    """The path the scan URLs share: ``/qr/`` of ``/qr/<token>/``."""
    return request.path.rstrip("/").rsplit("/", 1)[0] + "/"


def vouch_in_cookie(request: HttpRequest, response: HttpResponse, scan_token: str) -> None:
    """``vouch_for``, in a signed cookie on ``response`` (the hand-off)."""
    response.set_signed_cookie(
        _VOUCHER_COOKIE,
        _voucher(scan_token),
        salt=_VOUCHER_SALT,
        max_age=qrauth_settings.EXPIRATION_TIME,
        path=_scan_urls(request),
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def cookie_vouches_for(request: HttpRequest, scan_token: str) -> bool:
    """Whether this browser's voucher cookie is for ``scan_token``."""
    voucher = request.get_signed_cookie(
        _VOUCHER_COOKIE, default="", salt=_VOUCHER_SALT, max_age=qrauth_settings.EXPIRATION_TIME
    )
    return hmac.compare_digest(voucher, _voucher(scan_token))


def forget_cookie_voucher(request: HttpRequest, response: HttpResponse) -> None:
    """Use the voucher cookie up (whatever it said), if the browser sent one."""
    if _VOUCHER_COOKIE in request.COOKIES:
        response.delete_cookie(_VOUCHER_COOKIE, path=_scan_urls(request), samesite="Lax")


def remember_scan(request: HttpRequest, token: tokens.ScanToken) -> None:
    """Keep the scan a phone must sign in to answer, so that the login page's
    ``next`` need not carry the token (that page is the site's, with
    whatever scripts and Referer policy it has)."""
    request.session[_RESUME_KEY] = [token.order_id, token.elapsed]


def remembered_scan(request: HttpRequest) -> str | None:
    """The scan token ``remember_scan`` kept, rebuilt, or None."""
    entry = request.session.get(_RESUME_KEY)
    if not entry or not tokens.is_order_id(str(entry[0])):
        return None
    order_id, elapsed = entry
    return tokens.scan_token(order_id) if elapsed is None else tokens.frame_token(order_id, elapsed)


# -- the issuing session, as the source of truth -------------------------------
#
# Cancelling an order at logout is best effort: Redis may be down, a browser
# may switch user without logging out (login() flushes the session without
# the logout signal), two page loads may race. So the order also carries the
# issuing session's key, sealed, and a scan only counts while that session
# is still signed in as the order's user and still points at this order.


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
    """The session key, unreadable without SECRET_KEY and the order id."""
    return base64.urlsafe_b64encode(_xor(order_id, session_key.encode())).decode("ascii")


def _unseal(order_id: str, sealed: str) -> str | None:
    try:
        return _xor(order_id, base64.urlsafe_b64decode(sealed.encode("ascii"))).decode()
    except (ValueError, UnicodeError):
        return None


def issuer_still_bound(order: Order) -> bool:
    """Whether the browser that issued ``order`` is still signed in as its
    user and still shows this order."""
    session_key = _unseal(order.id, order.issuer)
    if not session_key:
        return False
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    entry = session.get(_SESSION_KEY, {}).get(HANDOFF)
    if not entry or str(session.get(SESSION_KEY)) != order.user_id:
        return False
    return hmac.compare_digest(entry[0].encode(), order.id.encode())
