"""The email that tells a user a new device was signed in to their account
(AUTH_QR_CODE_NEW_DEVICE_EMAIL): which device, when, from where, and a link
to the devices page, where it can be signed out.

Sent while the sign-in request is served, through the site's EMAIL_BACKEND
(a queueing backend keeps the sign-in fast). A mail that cannot be made or
sent is logged, never raised: the sign-in has happened, and must not turn
into an error page because of a mail server.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from .conf import settings
from .devices import device_label
from .links import absolute_url

if TYPE_CHECKING:
    from .models import SignIn

__all__ = ["BODY_TEMPLATE", "SUBJECT_TEMPLATE", "new_device"]

logger = logging.getLogger(__name__)

SUBJECT_TEMPLATE = "qrauth/email/new_device_subject.txt"
BODY_TEMPLATE = "qrauth/email/new_device_body.txt"


def new_device(request: HttpRequest, record: SignIn) -> None:
    """Mail ``record``'s user about the device it signed in, if the setting
    asks for it and the user has an email address."""
    if not settings.NEW_DEVICE_EMAIL:
        return
    recipient = _email_of(record.user)
    if not recipient:
        return
    try:
        subject, body = _render(request, record)
        send_mail(subject, body, None, [recipient])
    except Exception:  # any mail backend's error: see the module's docstring
        logger.warning(
            "qrauth: no new-device email for sign-in %s", record.public_id, exc_info=True
        )


def _email_of(user: Any) -> str:
    field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
    return str(getattr(user, field, "") or "")


def _render(request: HttpRequest, record: SignIn) -> tuple[str, str]:
    context = {
        "user": record.user,
        "device": device_label(record.device),
        "when": record.at,
        "address": record.address,
        "devices_url": absolute_url(request, reverse("qrauth_devices")),
    }
    subject = render_to_string(SUBJECT_TEMPLATE, context)
    # A header is one line, whatever the template's own line breaks.
    return " ".join(subject.split()), render_to_string(BODY_TEMPLATE, context)
