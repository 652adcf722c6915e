"""The scan a phone made, kept in a signed cookie rather than its session.

The hand-off's phone is not signed in, and a session written for every
scan would cost each one a database row (and anonymous traffic unbounded
writes). The cookie is set only when the scanned code was fresh, so it also
vouches for it: a phone may answer after its frame's tolerance, within the
order's life. It keeps the order id and the frame, never the code: only
the server can rebuild the token. It goes back to qrauth's URLs only, and
lets the scan URL answer with a redirect to a page without the token, so
the token sits in no address bar, history entry or page script.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from . import tokens
from .conf import settings as qrauth_settings

__all__ = [
    "forget_scan",
    "handled_scan",
    "remember_scan",
    "remembered_scan",
    "save",
    "scan_handle",
    "scan_vouched",
]

_SCAN_COOKIE = "qrauth_scan"
_SCAN_SALT = "qrauth.binding.scan"
_PENDING = "_qrauth_scan"  # what this request does to the cookie, until the response
_HANDLE_SALT = "qrauth.api.scan"


def _qrauth_path() -> str:
    """The path every qrauth URL shares: ``/qr/`` of ``path("qr/", include(...))``."""
    return reverse("qr_code_page")


def remember_scan(request: HttpRequest, token: tokens.ScanToken) -> None:
    """Keep the scan ``token`` (fresh now) in this browser, for the order's
    life (sent with the response: ``save``)."""
    setattr(request, _PENDING, token)


def forget_scan(request: HttpRequest) -> None:
    """Use the scan cookie up (whatever it said), if the browser sent one."""
    if _SCAN_COOKIE in request.COOKIES:
        setattr(request, _PENDING, None)


def save(request: HttpRequest, response: HttpResponse) -> None:
    """Send what this request did to the scan cookie, if anything."""
    if not hasattr(request, _PENDING):
        return
    token = getattr(request, _PENDING)
    if token is None:
        response.delete_cookie(_SCAN_COOKIE, path=_qrauth_path(), samesite="Lax")
        return
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
    return _rebuilt(order_id, elapsed)


def _rebuilt(order_id: str, elapsed: str) -> tuple[str, tokens.ScanToken] | None:
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


# The JSON API's scan cookie. An app has no cookie jar to trust, so the
# look at a fresh code answers with a handle that does what the cookie does:
# it vouches, for the order's life, that this caller saw the frame fresh.
# It is signed, names the order and the frame (never the code), and is
# bound to the caller's claim (``claimer``, "" for an anonymous hand-off
# phone, which like the cookie is bound to nothing): a handle that leaks from
# one app's account is refused from any other.


def scan_handle(token: tokens.ScanToken, claimer: str) -> str:
    """The handle of a scan of ``token`` (fresh now) by ``claimer``."""
    elapsed = "" if token.elapsed is None else str(token.elapsed)
    bound = _bound(claimer)
    return signing.dumps([token.order_id, elapsed, bound], salt=_HANDLE_SALT)


def _bound(claimer: str) -> str:
    return tokens.keyed_hash("scan-handle", claimer) if claimer else ""


def handled_scan(handle: str, claimer: str) -> tuple[str, tokens.ScanToken] | None:
    """The scan ``scan_handle`` made for ``claimer``: (its token, rebuilt,
    and the token's parts); None for a handle that is not one, is older
    than an order lives, or is another caller's."""
    try:
        order_id, elapsed, bound = signing.loads(
            handle, salt=_HANDLE_SALT, max_age=qrauth_settings.EXPIRATION_TIME
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not hmac.compare_digest(str(bound).encode(), _bound(claimer).encode()):
        return None
    return _rebuilt(str(order_id), str(elapsed))
