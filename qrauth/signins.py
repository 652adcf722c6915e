"""Sign-ins on record: the record of each sign-in, denial and refusal
(``qrauth.models.SignIn``), and of the end of a device's sign-in.

A sign-in is recorded by the step that signs the device in
(``flows.common.log_in``): its record and the session's marker (the
record's public id, kept in the new session) are part of signing in,
since without them the device could never be listed or signed out. Writing
it is one INSERT; a failure there fails the sign-in, with a log line that
says why. Denials and refusals are recorded by receivers of the ``denied``
and ``rejected`` signals, and a failure there is only logged: the denial
has happened anyway.

A device signed out from another one cannot be reached: Django cannot
delete a session whose key it does not know, and no session key is kept
here. Its record is marked signed out instead, and
``qrauth.middleware.SignedOutDevicesMiddleware`` logs the device out at its
next request, under whatever session engine the site uses.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from django.conf import settings as django_settings
from django.db import DatabaseError, router, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone as django_timezone

from . import claims, clock, notices, signals
from .conf import settings
from .devices import client_ip, describe_user_agent
from .model import Flow, Order
from .models import SignedOutBy, SignIn, SignInOutcome

__all__ = [
    "EXPIRY_SLACK",
    "MARKER",
    "database",
    "end",
    "forget_seen",
    "is_live",
    "live_sign_ins",
    "marker_of",
    "now",
    "on_denied",
    "on_logged_out",
    "on_rejected",
    "prunable",
    "signing_in",
    "recorded_address",
    "remember_seen",
    "seen",
]

logger = logging.getLogger(__name__)

# The session key that names the record of the session's qrauth sign-in.
MARKER = "qrauth_signin"

_MIGRATE_HINT = "if its table is missing, run `manage.py migrate`"


def now() -> datetime:
    """The time as ``qrauth.clock`` says (tests move it), as Django stores it."""
    moment = datetime.fromtimestamp(clock.now(), tz=timezone.utc)
    return moment if django_settings.USE_TZ else django_timezone.make_naive(moment)


# -- what a record keeps -------------------------------------------------------------

# AUTH_QR_CODE_RECORD_ADDRESS = "network": the prefix kept of each version.
# An IPv4 /24 is shared by many subscribers; an IPv6 /64 is one household's
# LAN (as telling as a whole IPv4 address), so IPv6 keeps its /48, the
# prefix IP anonymisation commonly keeps (as Google Analytics did).
NETWORK_PREFIX = {4: 24, 6: 48}


def recorded_address(address: str) -> str:
    """``address`` as AUTH_QR_CODE_RECORD_ADDRESS says to keep it: whole,
    its network ("203.0.113.0/24"), or nothing. A value that is not an
    address (a site's own TRUSTED_PROXIES callable) is kept only whole."""
    mode = settings.RECORD_ADDRESS
    if mode == "none" or not address:
        return ""
    if mode == "full":
        return address[:64]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return ""
    parsed = getattr(parsed, "ipv4_mapped", None) or parsed  # ::ffff:192.0.2.1
    prefix = NETWORK_PREFIX[parsed.version]
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def _device(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return describe_user_agent(request.headers.get("User-Agent", ""))


def _address(request: HttpRequest | None) -> str:
    return "" if request is None else recorded_address(client_ip(request))


# -- signing in ----------------------------------------------------------------------


@contextmanager
def signing_in(
    request: HttpRequest, user: Any, order: Order, flow: Flow
) -> Iterator[SignIn | None]:
    """Around ``login()``: the record that ``request``'s device is being
    signed in as ``user`` (None while recording is off), and the new
    session marked with it.

    The record is written first, in one transaction with the login's own
    writes (the new session's row, last_login): one commit instead of
    three, and on SQLite a transaction whose first statement writes, so it
    waits its turn for the lock instead of failing to upgrade a read. None
    of them stands without the others: a device signed in without its
    record could never be listed nor signed out by its user."""
    if not settings.RECORD_SIGNINS:
        yield None
        return
    with transaction.atomic(using=database()):
        record = _record(request, user, order, flow)
        yield record
        request.session[MARKER] = str(record.public_id)
        # After the commit: a mail server does not hold the transaction.
        transaction.on_commit(lambda: notices.new_device(request, record), using=database())


def _record(request: HttpRequest, user: Any, order: Order, flow: Flow) -> SignIn:
    at = now()
    try:
        return SignIn.objects.create(
            user=user,
            flow=flow.value,
            outcome=SignInOutcome.SIGNED_IN,
            at=at,
            device=_device(request),
            address=_address(request),
            # As login() keeps it: cycle_key keeps a session's own expiry.
            expires=at + timedelta(seconds=request.session.get_expiry_age()),
            approver=order.approver,
            approver_device=order.approver_device,
        )
    except DatabaseError:
        logger.error("qrauth: order %s not signed in: no record (%s)", order.ref, _MIGRATE_HINT)
        raise


def database() -> str:
    """The database the records are written to (the site's routers decide)."""
    return router.db_for_write(SignIn)


# -- denials and refusals --------------------------------------------------------------


def on_denied(
    sender: str,
    request: HttpRequest,
    user: Any,
    device: str = "",
    reason: str = SignInOutcome.DENIED,
    requester: str = "",
    requester_ip: str = "",
    **kwargs: Any,
) -> None:
    """``denied`` receiver: ``user``'s account was not signed in on the
    device that asked (``requester``, ``requester_ip``), by the approving
    phone (``request``, ``device``) or the hand-off's desktop."""
    approver = {}
    if sender == Flow.APPROVE.value:
        claimer = claims.existing_claimer_digest(request)
        approver = {"approver": claimer or "", "approver_device": device}
    outcome = SignInOutcome.WRONG_NUMBER if reason == "wrong_number" else SignInOutcome.DENIED
    address = recorded_address(requester_ip)
    _record_quietly(user, sender, outcome, device=requester, address=address, **approver)


def on_rejected(
    sender: str,
    request: HttpRequest | None,
    user: Any,
    reason: str = "",
    at_sign_in: bool = False,
    approver: str = "",
    approver_device: str = "",
    **kwargs: Any,
) -> None:
    """``rejected`` receiver: a sign-in refused at its last step (the
    backend: the account changed, or the site's policy said no), for an
    account that still exists. Scans and looks refused earlier are not
    sign-ins, and are not recorded."""
    if not at_sign_in or user is None:
        return
    _record_quietly(
        user,
        sender,
        SignInOutcome.REFUSED,
        reason=reason,
        device=_device(request),
        address=_address(request),
        approver=approver,
        approver_device=approver_device,
    )


def _record_quietly(user: Any, flow: str, outcome: str, **fields: Any) -> None:
    """A denial or refusal on record; a failure is logged, never raised."""
    if not settings.RECORD_SIGNINS or flow not in (Flow.HANDOFF.value, Flow.APPROVE.value):
        return
    try:
        with transaction.atomic():  # a failed INSERT must not spoil the request's transaction
            SignIn.objects.create(user=user, flow=flow, outcome=outcome, at=now(), **fields)
    except DatabaseError:
        logger.error("qrauth: a %s was not recorded (%s)", outcome, _MIGRATE_HINT, exc_info=True)


# -- which devices are still signed in ---------------------------------------------------


# How far a record's expiry may lag its session's (the middleware writes it
# again only past that): a record counts as live that long after its expiry,
# so that a device in use never drops off its user's page, even with
# sessions shorter than the lag. A device whose session did expire stays
# listed that much longer; signing it out then changes nothing.
EXPIRY_SLACK = timedelta(hours=1)


def live_sign_ins(user: Any) -> QuerySet[SignIn]:
    """``user``'s devices that qrauth signed in and that are still signed in
    (not signed out, their session not expired), newest first."""
    return SignIn.objects.filter(
        user=user,
        outcome=SignInOutcome.SIGNED_IN,
        signed_out_at__isnull=True,
        expires__gt=now() - EXPIRY_SLACK,
    )


def is_live(record: SignIn) -> bool:
    """Whether ``record``'s device is still signed in, as ``live_sign_ins`` says."""
    signed_in = record.outcome == SignInOutcome.SIGNED_IN and record.signed_out_at is None
    return signed_in and record.expires is not None and record.expires > now() - EXPIRY_SLACK


def marker_of(request: HttpRequest) -> str | None:
    """The public id of the record of this session's qrauth sign-in, if any.

    A look for qrauth's own sake: the session is not marked as read, so a
    response that depends on nothing else of it gets no ``Vary: Cookie``."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    accessed = session.accessed
    marker = session.get(MARKER)
    session.accessed = accessed
    return marker


# -- signing out -----------------------------------------------------------------------


def end(request: HttpRequest | None, record: SignIn, by: SignedOutBy) -> bool:
    """Mark ``record``'s device signed out (``by``: how), and send
    ``device_signed_out``; False when it already was. The device itself is
    logged out by the middleware, at its next request."""
    moment = now()
    ended = SignIn.objects.filter(pk=record.pk, signed_out_at__isnull=True).update(
        signed_out_at=moment, signed_out_by=by
    )
    if not ended:
        return False
    record.signed_out_at, record.signed_out_by = moment, by
    logger.info("qrauth: sign-in %s signed out (%s)", record.public_id, by)
    signals.device_signed_out.send(
        sender=record.flow, request=request, user=record.user, signin=record, by=by.value
    )
    return True


def on_logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_out`` receiver: a device signing itself out ends its
    record. Logging out must work while the database has trouble, so a
    failure is only logged (the device is signed out all the same)."""
    marker = None if request is None else marker_of(request)
    if marker is None:
        return
    forget_seen(request)
    try:
        record = SignIn.objects.filter(public_id=marker).first()
        if record is not None:
            end(request, record, SignedOutBy.ITSELF)
    except DatabaseError:
        logger.warning("qrauth: could not mark sign-in %s signed out", marker, exc_info=True)


# -- what the middleware keeps between a request and its response ------------------------

_SEEN = "_qrauth_signin_seen"


def seen(request: HttpRequest) -> SignIn | None:
    """The live record the middleware found for this request's session."""
    return getattr(request, _SEEN, None)


def remember_seen(request: HttpRequest, record: SignIn) -> None:
    setattr(request, _SEEN, record)


def forget_seen(request: HttpRequest) -> None:
    """The record's end is already taken care of: the middleware must not
    end it again when the session turns out to have lost its marker."""
    if hasattr(request, _SEEN):
        delattr(request, _SEEN)


# -- retention -----------------------------------------------------------------------


def prunable(days: int) -> QuerySet[SignIn]:
    """Records that mattered last more than ``days`` ago: a denial or a
    refusal when it happened, a sign-in when it was signed out or its
    session expired. A device still signed in is never among them."""
    cutoff = now() - timedelta(days=days)
    ended_long_ago = Q(signed_out_at__lt=cutoff) | Q(signed_out_at__isnull=True, expires__lt=cutoff)
    return SignIn.objects.filter(
        (~Q(outcome=SignInOutcome.SIGNED_IN) & Q(at__lt=cutoff))
        | (Q(outcome=SignInOutcome.SIGNED_IN) & ended_long_ago)
    )
