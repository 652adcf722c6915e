"""The authentication backend that turns a used-up order into its user.

Views never call ``login`` with a user they looked up themselves: they pass
the order to ``authenticate(request, qrauth_order=order)``, so Django
records this backend on the session and every site-wide check on
authentication backends applies.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from . import clock, signals, tokens
from .conf import settings
from .model import Flow, Order
from .policy import user_may_use
from .sessions import issuer_still_bound

# An order's flow -> the flow's name (signals, policy).
FLOW_NAMES = {flow: flow.value for flow in Flow}

__all__ = ["FLOW_NAMES", "QRAuthBackend", "check_order_account", "check_order_user"]

logger = logging.getLogger(__name__)


def check_order_user(
    order: Order, request: HttpRequest | None = None
) -> tuple[AbstractBaseUser | None, str | None]:
    """(user, None) if the order's user may still sign in, else (user, reason).

    ``user`` is None when the account no longer exists.

    Refused for any reason of ``check_order_account``, and, for a hand-off,
    when the issuing browser no longer holds the order (signed out,
    switched user; a newer code cancels it in Redis).
    """
    user, reason = check_order_account(order, request)
    if reason is None and order.flow == Flow.HANDOFF and not issuer_still_bound(order):
        return user, "signed_out"
    return user, reason


def check_order_account(
    order: Order, request: HttpRequest | None = None
) -> tuple[AbstractBaseUser | None, str | None]:
    """``check_order_user`` but for the issuing browser's session, which
    takes a second session load: (user, None) if the order is authentic
    and its account may sign in, else (user, reason).

    Refused when the order's seal does not match its fields (edited or
    stitched together in Redis: nothing in Redis alone can sign anyone in),
    when the user is gone or inactive, when the password changed
    since the code was issued or approved (the session auth hash moved on),
    and when the site's policy (AUTH_QR_CODE_USER_POLICY) says no.
    """
    if not _sealed(order):
        logger.warning("qrauth: order %s refused: its seal does not match", order.ref)
        return None, "tampered"
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get(pk=order.user_id)
    except (user_model.DoesNotExist, ValidationError, ValueError):
        return None, "user_gone"
    if not getattr(user, "is_active", True):
        return user, "inactive"
    if not hmac.compare_digest(tokens.auth_digest(user).encode(), order.auth_digest.encode()):
        return user, "password_changed"
    flow = FLOW_NAMES[order.flow]
    if not user_may_use(request, user, flow):
        return user, "not_allowed"
    return user, None


# Seconds a seal may be older than the order's life: clocks of several
# servers disagree a little (see clock.now).
_SEAL_SKEW = 5


def _sealed(order: Order) -> bool:
    """Whether the order's seal is the MAC of its deciding fields, made
    within the order's life: a hand-off as issued (or as its desktop
    allowed the claiming phone), an approve order as the claiming phone
    approved it. Single use within that life rests on Redis alone."""
    if order.flow == Flow.APPROVE:
        allows = f"approved:{order.claimer}"
    elif order.flow == Flow.HANDOFF:
        allows = f"allowed:{order.claimer}" if order.claimer else "issued"
    else:
        return False
    if clock.now() - order.sealed_at > settings.EXPIRATION_TIME + _SEAL_SKEW:
        return False  # revived after its life, or never sealed
    fields = (
        order.id,
        order.flow.letter,
        order.user_id,
        order.auth_digest,
        allows,
        order.sealed_at,
    )
    expected = tokens.order_seal(*fields)
    return hmac.compare_digest(expected.encode(), order.seal.encode())


class QRAuthBackend(ModelBackend):
    """Add ``"qrauth.backends.QRAuthBackend"`` to AUTHENTICATION_BACKENDS."""

    def authenticate(
        self, request: HttpRequest | None, qrauth_order: Order | None = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        if qrauth_order is None:
            return None
        user, reason = check_order_user(qrauth_order, request)
        if reason is None:
            return user
        logger.info("qrauth: order %s refused: %s", qrauth_order.ref, reason)
        flow = FLOW_NAMES.get(qrauth_order.flow, "")
        signals.rejected.send(
            sender=flow,
            request=request,
            user=user,
            order_ref=qrauth_order.ref,
            reason=reason,
            at_sign_in=True,
            approver=qrauth_order.approver,
            approver_device=qrauth_order.approver_device,
        )
        return None
