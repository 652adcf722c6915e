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
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from . import tokens
from .conf import settings as qrauth_settings

__all__ = ["forget_scan", "remember_scan", "remembered_scan", "save", "scan_vouched"]

_SCAN_COOKIE = "qrauth_scan"
_SCAN_SALT = "qrauth.binding.scan"
_PENDING = "_qrauth_scan"  # what this request does to the cookie, until the response


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
