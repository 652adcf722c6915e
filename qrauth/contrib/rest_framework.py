"""Django REST framework: a header authentication of DRF authenticates the
JSON API.

``AUTH_QR_CODE_API_AUTHENTICATORS = ["qrauth.contrib.rest_framework.token_authentication"]``
for DRF's ``Authorization: Token <key>``; ``from_drf`` adapts another
header scheme of DRF (or of a DRF package), given how to read the
credential's secret when its auth object has no ``key``. Session, Basic and
RemoteUser authentication are refused: a browser sends those by itself,
and the API checks CSRF on the cookie session itself.

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


KeyOf = Callable[[HttpRequest, Any], str]


def from_drf(
    authentication_class: type, scheme: str, key: KeyOf | None = None
) -> Callable[[HttpRequest], Any]:
    """An authenticator that runs ``authentication_class`` (a DRF
    BaseAuthentication reading a header the app sends) and calls its
    credential ``scheme``. ``key(request, auth)``: the credential's secret,
    for a class whose auth object has no ``key`` (by default its ``key``)."""
    from rest_framework.authentication import (
        BasicAuthentication,
        RemoteUserAuthentication,
        SessionAuthentication,
    )

    # Credentials a browser sends by itself, to any site's page that asks.
    if issubclass(
        authentication_class,
        (SessionAuthentication, BasicAuthentication, RemoteUserAuthentication),
    ):
        raise ImproperlyConfigured(
            f"{authentication_class.__name__} is a credential the browser sends by itself: "
            "leave it out of AUTH_QR_CODE_API_AUTHENTICATORS (the API checks CSRF on the "
            "cookie session itself)."
        )
    key_of = key or _token_key

    def authenticate(request: HttpRequest) -> ApiCredential | None:
        from rest_framework.exceptions import AuthenticationFailed

        try:
            found = authentication_class().authenticate(request)
        except AuthenticationFailed as failed:
            raise InvalidCredential(str(failed)) from None
        if found is None:
            return None
        user, auth = found
        return ApiCredential(user, scheme, key_of(request, auth), _created(auth))

    return authenticate


def _token_key(request: HttpRequest, auth: Any) -> str:
    key = getattr(auth, "key", None)
    if not key:
        raise ImproperlyConfigured(
            f"from_drf: the auth object {type(auth).__name__} has no key; pass "
            "key=<callable(request, auth) returning the credential's secret>."
        )
    return str(key)


def _created(auth: Any) -> int | None:
    created = getattr(auth, "created", None)
    return int(created.timestamp()) if created is not None else None


def token_authentication(request: HttpRequest) -> ApiCredential | None:
    """DRF's ``Authorization: Token <key>`` (rest_framework.authtoken)."""
    from rest_framework.authentication import TokenAuthentication

    return from_drf(TokenAuthentication, "drf-token")(request)


# The security scheme of the shipped OpenAPI description (qrauth/openapi.json).
token_authentication.openapi_scheme = "drfToken"
