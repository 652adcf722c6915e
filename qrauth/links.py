"""The absolute scan URL that a QR code carries."""

from __future__ import annotations

from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest
from django.urls import reverse

from .conf import settings

__all__ = ["scan_url"]


def scan_url(request: HttpRequest, token: str, view: str = "qr_code_login") -> str:
    """The URL of the scan ``view`` for ``token``: AUTH_QR_CODE_BASE_URL if
    set, else the current site's domain (the sites framework if installed,
    else the request's host), with https when the request is secure."""
    path = reverse(view, args=[token])
    base_url = settings.BASE_URL
    if base_url:
        return base_url.rstrip("/") + path
    scheme = "https" if request.is_secure() else "http"
    return f"{scheme}://{get_current_site(request).domain}{path}"
