"""Django REST framework: a header authentication of DRF authenticates the
JSON API.

``AUTH_QR_CODE_API_AUTHENTICATORS = ["qrauth.contrib.rest_framework.token_authentication"]``
for DRF's ``Authorization: Token <key>``; ``from_drf`` adapts another
header scheme of DRF (or of a DRF package). DRF's SessionAuthentication is
refused: it is the cookie, and the API checks CSRF on the cookie itself.

For AUTH_QR_CODE_STEP_UP_AGE, a DRF token counts as an authentication when
it was created: an app that must approve soon after a password entry mints
a fresh token then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from ..credentials import ApiCredential, InvalidCredential

__all__ = ["from_drf", "token_authentication"]


def from_drf(authentication_class: type, scheme: str) -> Callable[[HttpRequest], Any]:
    """An authenticator that runs ``authentication_class`` (a DRF
    BaseAuthentication reading a header) and calls its credential ``scheme``."""
    from rest_framework.authentication import SessionAuthentication

    if issubclass(authentication_class, SessionAuthentication):
        raise ImproperlyConfigured(
            "SessionAuthentication is the cookie session: leave it out of "
            "AUTH_QR_CODE_API_AUTHENTICATORS (the API checks CSRF on the cookie itself)."
        )

    def authenticate(request: HttpRequest) -> ApiCredential | None:
        from rest_framework.exceptions import AuthenticationFailed

        try:
            found = authentication_class().authenticate(request)
        except AuthenticationFailed as failed:
            raise InvalidCredential(str(failed)) from None
        if found is None:
            return None
        user, auth = found
        return ApiCredential(user, scheme, _key(request, auth), _created(auth))

    return authenticate


def _key(request: HttpRequest, auth: Any) -> str:
    # The token's own key where it has one, else the header that carried it.
    key = getattr(auth, "key", None)
    return str(key) if key else request.headers.get("Authorization", "")


def _created(auth: Any) -> int | None:
    created = getattr(auth, "created", None)
    return int(created.timestamp()) if created is not None else None


def token_authentication(request: HttpRequest) -> ApiCredential | None:
    """DRF's ``Authorization: Token <key>`` (rest_framework.authtoken)."""
    from rest_framework.authentication import TokenAuthentication

    return from_drf(TokenAuthentication, "drf-token")(request)


# The security scheme of the shipped OpenAPI description (qrauth/openapi.json).
token_authentication.openapi_scheme = "drfToken"
