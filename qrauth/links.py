"""Absolute URLs for another device: the scan URL a QR code carries, and the
link a new-device email carries."""

from __future__ import annotations

from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest
from django.urls import reverse

from .conf import settings

__all__ = ["absolute_url", "scan_url"]


def scan_url(request: HttpRequest, token: str, view: str = "qr_code_login") -> str:
    """The URL of the scan ``view`` for ``token`` (see ``absolute_url``)."""
    return absolute_url(request, reverse(view, args=[token]))


def absolute_url(request: HttpRequest, path: str) -> str:
    """``path`` of this site for another device: under AUTH_QR_CODE_BASE_URL
    if set, else the current site's domain (the sites framework if
    installed, else the request's host), with https when the request is
    secure."""
    base_url = settings.BASE_URL
    if base_url:
        return base_url.rstrip("/") + path
    scheme = "https" if request.is_secure() else "http"
    return f"{scheme}://{get_current_site(request).domain}{path}"
