"""App configuration: registers the system checks and the logout hook."""

import logging

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out

logger = logging.getLogger(__name__)


def _cancel_orders_on_logout(sender, request, user, **kwargs):
    """A browser that signs out takes its open QR codes with it.

    Runs before Django flushes the session, while the binding is still there.
    Logging out must work while Redis is down, so a failure is only logged.
    """
    from . import binding, store

    if request is None or not hasattr(request, "session"):
        return
    bound = binding.bound_order(request, "handoff")
    if bound is None:
        return
    try:
        store.cancel_order(*bound)
    except Exception:  # logging out must never fail because of us
        # Not a hole: a scan also checks that this session still holds the order.
        logger.warning("qrauth: could not cancel an order at logout", exc_info=True)


class QRAuthConfig(AppConfig):
    name = "qrauth"
    verbose_name = "QR code sign-in"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from . import binding, checks, logs, stepup  # noqa: F401  (importing checks registers them)

        logs.install()
        user_logged_out.connect(_cancel_orders_on_logout, dispatch_uid="qrauth.logout")
        user_logged_in.connect(stepup.on_login, dispatch_uid="qrauth.step_up")
        user_logged_in.connect(binding.cancel_left_behind, dispatch_uid="qrauth.change_of_user")
