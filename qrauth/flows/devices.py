"""The devices page's steps: the devices qrauth signed the user in on that
are still signed in, and signing them out. The HTML views
(``qrauth.views.devices``) and the JSON API both call these.

Signing a device out marks its record; the device finds itself signed out
at its next request (``qrauth.middleware.SignedOutDevicesMiddleware``).
Without that middleware nothing would sign it out, so every step refuses
to run where it did not see the request: a page must not say "signed out"
of a device that is not.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import logout
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest

from .. import signins
from ..conf import settings
from ..middleware import MIDDLEWARE, guarded
from ..models import SignedOutBy, SignIn, SignInOutcome

__all__ = ["describe", "is_current", "linked_devices", "sign_out_device", "sign_out_others"]


def linked_devices(request: HttpRequest) -> list[SignIn]:
    """The signed-in user's devices that qrauth signed in and that are
    still signed in, newest first (this one too, if it is one of them)."""
    _ready(request)
    return list(signins.live_sign_ins(request.user))


def sign_out_device(request: HttpRequest, public_id: uuid.UUID | str) -> bool:
    """Sign out the user's device named ``public_id``: True once done,
    False when it was signed out already or its session expired. 404 for
    a record that is not the user's sign-in. This very device is logged
    out at once."""
    _ready(request)
    record = _own_sign_in(request, public_id)
    if is_current(record.public_id, request):
        return _sign_out_here(request, record)
    if not signins.is_live(record):
        return False
    return signins.end(request, record, SignedOutBy.ANOTHER_DEVICE)


def sign_out_others(request: HttpRequest) -> int:
    """Sign out every other device qrauth signed the user in on; how many."""
    _ready(request)
    others = signins.live_sign_ins(request.user).exclude(public_id=signins.marker_of(request))
    return sum(signins.end(request, record, SignedOutBy.ALL_OTHERS) for record in others)


def is_current(public_id: uuid.UUID | str, request: HttpRequest) -> bool:
    """Whether ``public_id`` names the sign-in of the session making ``request``."""
    return str(public_id) == signins.marker_of(request)


def describe(record: SignIn, request: HttpRequest) -> dict[str, Any]:
    """``record`` as JSON: ``id``, ``device`` (in English, as recorded),
    ``flow``, ``signed_in_at`` (ISO 8601), ``address`` (as recorded: the
    address, its network, or ""), ``current`` (this session's)."""
    return {
        "id": str(record.public_id),
        "device": record.device,
        "flow": record.flow,
        "signed_in_at": record.at.isoformat(),
        "address": record.address,
        "current": is_current(record.public_id, request),
    }


def _ready(request: HttpRequest) -> None:
    if not settings.RECORD_SIGNINS:
        raise Http404("sign-ins are not recorded (AUTH_QR_CODE_RECORD_SIGNINS)")
    if not guarded(request):
        raise ImproperlyConfigured(
            f"the devices page needs {MIDDLEWARE} in MIDDLEWARE, after "
            "AuthenticationMiddleware: without it a device signed out there would stay "
            "signed in (check qrauth.W004)."
        )


def _own_sign_in(request: HttpRequest, public_id: uuid.UUID | str) -> SignIn:
    try:
        wanted = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("no such device") from None
    found = SignIn.objects.filter(
        public_id=wanted, user=request.user, outcome=SignInOutcome.SIGNED_IN
    ).first()
    if found is None:
        raise Http404("no such device")
    return found


def _sign_out_here(request: HttpRequest, record: SignIn) -> bool:
    """This device signs itself out: its record, then the session itself."""
    ended = signins.end(request, record, SignedOutBy.ITSELF)
    signins.forget_seen(request)
    request.session.pop(signins.MARKER, None)  # so that logout does not end it twice
    logout(request)
    return ended
