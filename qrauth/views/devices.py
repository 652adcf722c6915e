"""The devices page: the devices qrauth signed the user in on that are still
signed in, each with a button that signs it out, and one that signs out
all the others (the steps: qrauth/flows/devices.py).

Signing out is a POST with a CSRF token; the page cannot be framed
(``qrauth_view``), so no other site can trick a click on its buttons.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..devices import device_label
from ..flows import devices as steps
from ..model import Flow
from ..models import SignIn
from .decorators import qrauth_view
from .responses import home_url

__all__ = ["device_sign_out", "devices", "devices_sign_out_others"]

PAGE = "qrauth_devices"


@qrauth_view(login=True)
def devices(request: HttpRequest) -> HttpResponse:
    """The list, with a button for each other device and one for all of them."""
    rows = [_row(record, request) for record in steps.linked_devices(request)]
    context = {
        "devices": rows,
        "others": any(not row["current"] for row in rows),
        "home_url": home_url(),
    }
    return render(request, "qrauth/devices.html", context)


@qrauth_view(("POST",), login=True)
def device_sign_out(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Sign out one device (404 for one that is not the user's), and say so."""
    here = steps.is_current(public_id, request)
    if not steps.sign_out_device(request, public_id):
        messages.info(request, _("That device was already signed out."), fail_silently=True)
    elif here:
        return redirect(home_url())  # this browser is signed out now
    else:
        messages.success(request, _signed_out_one(), fail_silently=True)
    return redirect(PAGE)


@qrauth_view(("POST",), login=True)
def devices_sign_out_others(request: HttpRequest) -> HttpResponse:
    """Sign out every device qrauth signed the user in on but this one, and say how many."""
    count = steps.sign_out_others(request)
    messages.success(request, _signed_out_others(count), fail_silently=True)
    return redirect(PAGE)


def _signed_out_one() -> str:
    return _(
        "The device is signed out. It finds out at its next request to this site: a page it "
        "already shows stays on its screen until then, but nothing more can be done there "
        "with your account."
    )


def _signed_out_others(count: int) -> str:
    if not count:
        return _("There was no other device to sign out.")
    return ngettext(
        "%(count)d other device is signed out. It finds out at its next request to this site.",
        "%(count)d other devices are signed out. Each finds out at its next request to this site.",
        count,
    ) % {"count": count}


def _row(record: SignIn, request: HttpRequest) -> dict[str, Any]:
    """What the page shows of a device: ``describe`` and its words."""
    return {
        **steps.describe(record, request),
        "label": device_label(record.device),
        "at": record.at,
        "approved_from": device_label(record.approver_device) if record.approver_device else "",
        "handoff": record.flow == Flow.HANDOFF.value,
    }
