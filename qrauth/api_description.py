"""The JSON API's OpenAPI 3.1 description, as this site serves it.

The package ships the whole description (``openapi.json``), with a
security scheme for each shipped authenticator. A site serves the schemes
it accepts: the cookie session (under its SESSION_COOKIE_NAME), and those
of the authenticators in AUTH_QR_CODE_API_AUTHENTICATORS. An authenticator
names its scheme in an ``openapi_scheme`` attribute: the name of a shipped
one, or ``(name, scheme object)`` for a site's own; one without it is
accepted and left out of the description.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.utils.module_loading import import_string

from .conf import settings

__all__ = ["SHIPPED", "header_of", "scheme_of", "site_description"]

SHIPPED = Path(__file__).resolve().parent / "openapi.json"
_COOKIE = "cookieSession"


@functools.cache
def _shipped() -> dict[str, Any]:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


def site_description() -> dict[str, Any]:
    """The description with this site's security schemes only."""
    description = copy.deepcopy(_shipped())
    shipped = description["components"]["securitySchemes"]
    schemes = dict(_header_schemes(shipped))
    schemes[_COOKIE] = {**shipped[_COOKIE], "name": django_settings.SESSION_COOKIE_NAME}
    description["components"]["securitySchemes"] = schemes
    description["security"] = [{name: []} for name in schemes]
    return description


def _header_schemes(shipped: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    schemes = (scheme_of(import_string(path)) for path in settings.API_AUTHENTICATORS)
    return [scheme for scheme in schemes if scheme is not None]


def scheme_of(authenticator: Any) -> tuple[str, dict[str, Any]] | None:
    """(name, OpenAPI security scheme) an authenticator declares, or None."""
    named = getattr(authenticator, "openapi_scheme", None)
    shipped = _shipped()["components"]["securitySchemes"]
    if isinstance(named, str) and named in shipped:
        return named, shipped[named]
    if isinstance(named, tuple) and len(named) == 2 and isinstance(named[1], dict):
        return named
    return None


def header_of(scheme: dict[str, Any]) -> str | None:
    """The request header a security scheme reads, if it reads one."""
    if scheme.get("type") == "http":
        return "Authorization"
    if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
        return scheme.get("name")
    return None
