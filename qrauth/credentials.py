"""Who calls the JSON API: a credential sent in a header, or the cookie session.

A site's own app approves with the credential it already holds: an
allauth headless ``X-Session-Token``, a Django REST framework token, or the
site's own. ``AUTH_QR_CODE_API_AUTHENTICATORS`` lists the callables that
read such a header (``qrauth.contrib`` ships two). A request they
authenticate needs no CSRF token: a page on another site cannot make a
browser send a custom header without the site's CORS consent, so the header
itself shows the request is the app's. A request that sent no such header
is the browser's cookie session, and always passes CSRF.

A header that is present but does not authenticate is refused (401); the
API never falls back to the cookie, which would let a forged header ride a
victim's session past CSRF.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils.module_loading import import_string

from .api_description import header_of, scheme_of
from .conf import settings

__all__ = [
    "ApiCredential",
    "InvalidCredential",
    "authenticate_header",
    "credential_of",
]

_ATTRIBUTE = "qrauth_credential"


@dataclass(frozen=True)
class ApiCredential:
    """What an authenticator vouches for.

    ``scheme`` names the kind of credential ("allauth-session", "drf-token"),
    for logs and records. ``key`` is the credential's secret (the token
    itself): qrauth keeps only a keyed hash of it, as the phone's claim on an
    order. ``authenticated_at`` is when the user last proved who they are
    with it (Unix time; None: unknown), for ``AUTH_QR_CODE_STEP_UP_AGE``.
    """

    user: Any
    scheme: str
    key: str = field(repr=False)
    authenticated_at: int | None = None

    def __post_init__(self) -> None:
        # An empty key would make one claim of every caller of the scheme.
        if not self.scheme or not self.key:
            raise ValueError("an ApiCredential needs its scheme and its credential's key")


class InvalidCredential(Exception):
    """An authenticator found its header, and the header is not valid."""


Authenticator = Callable[[HttpRequest], "ApiCredential | None"]


def _authenticators() -> list[Authenticator]:
    return [import_string(path) for path in settings.API_AUTHENTICATORS]


def authenticate_header(request: HttpRequest) -> ApiCredential | None:
    """The credential a header of ``request`` carries, kept on the request
    for ``credential_of``; None when the request sends none of the headers
    the authenticators read. Raises InvalidCredential for a header that is
    there but wrong (also one of another scheme in a header an
    authenticator reads: "Authorization: Bearer" where only DRF's "Token"
    is taken), or that names a user who may not sign in (inactive)."""
    authenticators = _authenticators()
    for authenticate in authenticators:
        credential = authenticate(request)
        if credential is None:
            continue
        if not getattr(credential.user, "is_active", True):
            raise InvalidCredential("inactive user")
        setattr(request, _ATTRIBUTE, credential)
        request.user = credential.user
        return credential
    if any(header in request.headers for header in _headers_read(authenticators)):
        raise InvalidCredential("a credential header that no authenticator takes")
    return None


def _headers_read(authenticators: list[Authenticator]) -> set[str]:
    """The headers the authenticators declare (their ``openapi_scheme``)."""
    schemes = (scheme_of(authenticate) for authenticate in authenticators)
    headers = (header_of(scheme[1]) for scheme in schemes if scheme is not None)
    return {header for header in headers if header}


def credential_of(request: HttpRequest) -> ApiCredential | None:
    """The header credential ``authenticate_header`` found on this request."""
    return getattr(request, _ATTRIBUTE, None)
