"""Step-up: asking for the password again before lending the account to
another device: before a hand-off code appears, and before a phone
approves an approve code.

A hand-off code signs whoever scans it in as the user, so a signed-in but
unattended computer is a way into the account. With
``AUTH_QR_CODE_STEP_UP_AGE`` set, the QR page needs the user to have
authenticated in this browser within that many seconds; past it they are
sent to re-enter their password (``qrauth_step_up``, or the site's own
view named by ``AUTH_QR_CODE_STEP_UP_URL``). django-qrauth 0.1.x
recommended this and never built it.

The time of authentication is kept in the session: set by every
``login()`` (the ``user_logged_in`` signal) and by ``mark_authenticated``,
which a site's own re-authentication view calls. A login that qrauth made
does not count: a session that a QR code signed in proved nothing of its
own, and must not lend the account onwards without the password.
"""

from __future__ import annotations

from django.http import HttpRequest

from . import clock
from .conf import settings
from .credentials import credential_of

__all__ = ["mark_authenticated", "needs_step_up"]

_SESSION_KEY = "qrauth_authenticated_at"


def mark_authenticated(request: HttpRequest) -> None:
    """The user has just proven who they are in this browser."""
    request.session[_SESSION_KEY] = clock.now()


def needs_step_up(request: HttpRequest) -> bool:
    """Whether this browser's last authentication is older than the setting."""
    age = settings.STEP_UP_AGE
    if age is None:
        return False
    authenticated_at = _authenticated_at(request)
    if not isinstance(authenticated_at, int):
        return True  # signed in before qrauth counted, or by other means
    return clock.now() - authenticated_at > age


def _authenticated_at(request: HttpRequest) -> object:
    """When this browser, or the app's credential, last authenticated."""
    credential = credential_of(request)
    if credential is not None:
        return credential.authenticated_at
    return request.session.get(_SESSION_KEY)


_QRAUTH_BACKEND = "qrauth.backends.QRAuthBackend"


def on_login(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: a login is an authentication, unless
    qrauth made it."""
    if request is None or not hasattr(request, "session"):
        return
    if getattr(user, "backend", None) == _QRAUTH_BACKEND:
        request.session.pop(_SESSION_KEY, None)
        return
    mark_authenticated(request)
