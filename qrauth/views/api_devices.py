"""The devices page's JSON twin: the devices qrauth signed the caller in
on, and signing them out (the steps: qrauth/flows/devices.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from ..flows import devices as steps
from .api_base import ApiError, api_view, json_body

__all__ = ["api_device_sign_out", "api_devices", "api_devices_sign_out_others"]


def _signed_in(request: HttpRequest) -> None:
    if not request.user.is_authenticated:
        raise ApiError("not_authenticated")


@api_view(("GET",))
def api_devices(request: HttpRequest) -> HttpResponse:
    """The caller's devices that qrauth signed in and are still signed in."""
    _signed_in(request)
    listed = [steps.describe(record, request) for record in steps.linked_devices(request)]
    return JsonResponse({"devices": listed})


@api_view(("POST",))
def api_device_sign_out(request: HttpRequest, device: str) -> HttpResponse:
    """Sign one of the caller's devices out (at its next request)."""
    json_body(request)  # {}: every POST is JSON
    _signed_in(request)
    return JsonResponse({"signed_out": int(steps.sign_out_device(request, device))})


@api_view(("POST",))
def api_devices_sign_out_others(request: HttpRequest) -> HttpResponse:
    """Sign out every device qrauth signed the caller in on, but this one."""
    json_body(request)  # {}: every POST is JSON
    _signed_in(request)
    return JsonResponse({"signed_out": steps.sign_out_others(request)})
