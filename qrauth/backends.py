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

from . import signals, tokens
from .binding import issuer_still_bound
from .store import Order

__all__ = ["QRAuthBackend", "check_order_user"]

logger = logging.getLogger(__name__)


def check_order_user(order: Order) -> tuple[AbstractBaseUser | None, str | None]:
    """(user, None) if the order's user may still sign in, else (user, reason).

    ``user`` is None when the account no longer exists.

    Refused when the user is gone or inactive, when the password changed
    since the code was issued (the session auth hash moved on), or when the
    issuing browser no longer holds the order (signed out, switched user,
    showed a newer code).
    """
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get(pk=order.user_id)
    except (user_model.DoesNotExist, ValidationError, ValueError):
        return None, "user_gone"
    if not getattr(user, "is_active", True):
        return user, "inactive"
    if not hmac.compare_digest(tokens.auth_digest(user).encode(), order.auth_digest.encode()):
        return user, "password_changed"
    if not issuer_still_bound(order):
        return user, "signed_out"
    return user, None


class QRAuthBackend(ModelBackend):
    """Add ``"qrauth.backends.QRAuthBackend"`` to AUTHENTICATION_BACKENDS."""

    def authenticate(
        self, request: HttpRequest | None, qrauth_order: Order | None = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        if qrauth_order is None:
            return None
        user, reason = check_order_user(qrauth_order)
        if reason is None:
            return user
        logger.info("qrauth: order %s refused: %s", qrauth_order.ref, reason)
        signals.rejected.send(
            sender="handoff", request=request, user=user, order_ref=qrauth_order.ref, reason=reason
        )
        return None
