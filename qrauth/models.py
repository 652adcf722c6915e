"""The database side of qrauth: a record of each sign-in made with a QR code.

``qrauth.model`` (singular) holds the engine's words, orders and states as
Redis keeps them for minutes; nothing there touches the database. This
module holds what outlives an order: who was signed in where and when, who
was denied or refused, and when a device signed in this way was signed
out. ``qrauth.signins`` writes these records; ``qrauth.flows.devices``
lists and ends them for the devices page.

No record holds a session key: the approving session is named by its
claimer digest (a keyed hash of a secret of its own), and a session names
its record by the record's ``public_id`` (a random UUID, also what URLs
carry; the sequential ``pk`` is never shown).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .model import Flow

__all__ = ["FLOW_CHOICES", "SignIn", "SignInOutcome", "SignedOutBy"]

FLOW_CHOICES = [(Flow.HANDOFF.value, _("hand-off")), (Flow.APPROVE.value, _("approval"))]


class SignInOutcome(models.TextChoices):
    SIGNED_IN = "signed_in", _("signed in")
    DENIED = "denied", _("denied")
    WRONG_NUMBER = "wrong_number", _("wrong number")
    REFUSED = "refused", _("refused")


class SignedOutBy(models.TextChoices):
    """How a device's qrauth sign-in ended before its session expired."""

    ANOTHER_DEVICE = "another_device", _("from another device")
    ALL_OTHERS = "all_others", _("with all other devices")
    ITSELF = "itself", _("by the device itself")
    # A login as someone else, a new sign-in, a password changed elsewhere:
    # the session lost its sign-in without a logout.
    SESSION_ENDED = "session_ended", _("its session ended")


class SignIn(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qrauth_signins"
    )
    flow = models.CharField(max_length=16, choices=FLOW_CHOICES)
    outcome = models.CharField(max_length=16, choices=SignInOutcome.choices)
    # Why a sign-in was refused: a "rejected" reason such as "password_changed".
    reason = models.CharField(max_length=32, blank=True)
    at = models.DateTimeField(_("date and time"), db_index=True)
    # The device signed in, or for a denial the one that asked; a hint from
    # its User-Agent (qrauth.devices.describe_user_agent), never proof.
    device = models.CharField(max_length=80, blank=True)
    # As AUTH_QR_CODE_RECORD_ADDRESS says: the address, its network, or "".
    address = models.CharField(max_length=64, blank=True)
    # Approve: the phone session that approved (its claimer digest) and its device.
    approver = models.CharField(max_length=64, blank=True)
    approver_device = models.CharField(max_length=80, blank=True)
    # A sign-in: when its session expires, unless it is used and saved again.
    expires = models.DateTimeField(null=True, blank=True)
    signed_out_at = models.DateTimeField(null=True, blank=True)
    signed_out_by = models.CharField(max_length=16, choices=SignedOutBy.choices, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("QR code sign-in")
        verbose_name_plural = _("QR code sign-ins")

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.device or '?'} ({self.at:%Y-%m-%d %H:%M})"
