"""The plain QR image of a browser's code, as PNG or SVG."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from ..conf import settings
from ..flows import codes
from ..links import scan_url
from ..model import Flow
from ..qr import ContentTooLong, render_png, render_svg

__all__ = ["picture"]

_RENDERERS = {"png": (render_png, "image/png"), "svg": (render_svg, "image/svg+xml")}


def picture(
    request: HttpRequest, flow: Flow, auth_code: str, scan_view: str, user_id: Any = ""
) -> HttpResponse:
    """The image of this browser's order of ``flow`` (codes.picture_token),
    pointing at ``scan_view``; 404 for anyone else."""
    image_format = request.GET.get("format", "png")
    if image_format not in _RENDERERS:
        return HttpResponseBadRequest("format must be png or svg")
    token = codes.picture_token(request, flow, auth_code, user_id)
    render_image, content_type = _RENDERERS[image_format]
    try:
        image = render_image(scan_url(request, token, scan_view), settings.IMAGE_BOX_SIZE)
    except ContentTooLong:
        return HttpResponseBadRequest("the scan URL is too long for a QR code")
    return HttpResponse(image, content_type=content_type)
