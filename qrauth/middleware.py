"""``SignedOutDevicesMiddleware``: a device that was signed out from another
one (the devices page) is logged out at its next request.

Django cannot delete a session whose key it does not know, and qrauth keeps
no session key. So a session that qrauth signed in carries the public id
of its record (``qrauth.signins.MARKER``), inside the session data, where
no client can change it, under every engine (signed cookies included). For
such a session, and only for it, this middleware reads the record (one
query by a unique index) and logs the device out if the record says it was
signed out, or if the record is gone: a device its user can no longer see
on the devices page must not stay signed in by a QR code. Every other
request pays a look into its session, which AuthenticationMiddleware makes
anyway as soon as anything reads ``request.user``.

On the way out it keeps the record honest: a session that lost its marker
during the request (a login as someone else, a new sign-in, a password
changed elsewhere) ends its record, and a session saved with a later expiry
moves the record's expiry forward, at most once in ``EXPIRY_SLACK``, so
that a device still signed in never drops off the devices page.

Add it to MIDDLEWARE after AuthenticationMiddleware (check qrauth.W004).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings as django_settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from . import signins
from .models import SignedOutBy, SignIn
from .signins import EXPIRY_SLACK

__all__ = ["EXPIRY_SLACK", "MIDDLEWARE", "SignedOutDevicesMiddleware", "guarded"]

logger = logging.getLogger(__name__)

MIDDLEWARE = "qrauth.middleware.SignedOutDevicesMiddleware"

_GUARDED = "_qrauth_guarded"


def guarded(request: HttpRequest) -> bool:
    """Whether the middleware saw ``request`` (and so will see the next one)."""
    return getattr(request, _GUARDED, False)


# MiddlewareMixin: sync and async alike (an async view, such as an event
# stream, stays async; the lookups run in a thread, as Django's own do).
class SignedOutDevicesMiddleware(MiddlewareMixin):
    def process_request(self, request: HttpRequest) -> None:
        setattr(request, _GUARDED, True)
        marker = signins.marker_of(request)
        if marker is None:
            return
        record = SignIn.objects.filter(public_id=marker).first()
        if record is None or record.signed_out_at is not None:
            _log_out(request, marker)
            return
        signins.remember_seen(request, record)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        record = signins.seen(request)
        if record is None:
            return response
        if signins.marker_of(request) != str(record.public_id):
            signins.end(request, record, SignedOutBy.SESSION_ENDED)
        elif _saved(request, response):
            _follow_expiry(request, record)
        return response


def _log_out(request: HttpRequest, marker: str) -> None:
    logger.info("qrauth: sign-in %s was signed out: logging its device out", marker)
    request.session.pop(signins.MARKER, None)  # ended already: logout must not end it again
    logout(request)


def _saved(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether SessionMiddleware will save the session (and so move its expiry)."""
    session = request.session
    saving = session.modified or django_settings.SESSION_SAVE_EVERY_REQUEST
    return saving and not session.is_empty() and response.status_code < 500


def _follow_expiry(request: HttpRequest, record: SignIn) -> None:
    expires = signins.now() + timedelta(seconds=request.session.get_expiry_age())
    if record.expires is None or expires - record.expires > EXPIRY_SLACK:
        SignIn.objects.filter(pk=record.pk).update(expires=expires)
