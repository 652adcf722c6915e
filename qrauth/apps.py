"""App configuration: registers the system checks, the log redaction, and
the hooks on logging in and out and on the sign-ins qrauth records."""

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out


class QRAuthConfig(AppConfig):
    name = "qrauth"
    verbose_name = "QR code sign-in"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from . import checks, logs, sessions, signals, signins, stepup  # noqa: F401  (importing checks registers them)

        logs.install()
        user_logged_out.connect(sessions.cancel_at_logout, dispatch_uid="qrauth.logout")
        user_logged_in.connect(stepup.on_login, dispatch_uid="qrauth.step_up")
        user_logged_in.connect(sessions.cancel_left_behind, dispatch_uid="qrauth.change_of_user")
        user_logged_out.connect(signins.on_logged_out, dispatch_uid="qrauth.signin_logout")
        signals.denied.connect(signins.on_denied, dispatch_uid="qrauth.signin_denied")
        signals.rejected.connect(signins.on_rejected, dispatch_uid="qrauth.signin_rejected")
