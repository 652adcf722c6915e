"""django-allauth headless: an app's ``X-Session-Token`` authenticates the
JSON API.

``AUTH_QR_CODE_API_AUTHENTICATORS = ["qrauth.contrib.allauth.headless_session_token"]``

The token names a session of the site's session store, looked up through
allauth's token strategy (HEADLESS_TOKEN_STRATEGY); the user is read from
it as Django reads any session's, password-change check included. For
AUTH_QR_CODE_STEP_UP_AGE, the user last authenticated at the latest of
allauth's authentication records in that session (a login, a
reauthentication) and qrauth's own mark.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.auth import get_user
from django.http import HttpRequest

from ..credentials import ApiCredential, InvalidCredential

__all__ = ["HEADER", "headless_session_token"]

HEADER = "X-Session-Token"

# Where allauth and qrauth note an authentication in a session.
_ALLAUTH_RECORDS = "account_authentication_methods"
_QRAUTH_MARK = "qrauth_authenticated_at"


def headless_session_token(request: HttpRequest) -> ApiCredential | None:
    """The credential of the ``X-Session-Token`` header, None without one;
    InvalidCredential for a token that names no signed-in session."""
    token = request.headers.get(HEADER)
    if not token:
        return None
    from allauth.headless import app_settings

    session = app_settings.TOKEN_STRATEGY.lookup_session(token)
    if session is None:
        raise InvalidCredential("unknown session token")
    user = get_user(SimpleNamespace(session=session))
    if not user.is_authenticated:
        raise InvalidCredential("the session is signed out")
    return ApiCredential(user, "allauth-session", token, _authenticated_at(session))


# The security scheme of the shipped OpenAPI description (qrauth/openapi.json).
headless_session_token.openapi_scheme = "allauthSessionToken"


def _authenticated_at(session) -> int | None:
    records = session.get(_ALLAUTH_RECORDS)
    if not isinstance(records, list):
        records = []
    times = [record.get("at") for record in records if isinstance(record, dict)]
    times.append(session.get(_QRAUTH_MARK))
    known = [int(at) for at in times if isinstance(at, (int, float)) and not isinstance(at, bool)]
    return max(known, default=None)
