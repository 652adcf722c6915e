"""What a person reads about an order: one table from (state, hint) to a
sentence, in the spirit of BankID's recommended user messages.

``state`` is what a program acts on (pending, complete, failed), ``hint``
says why, and ``message`` is for people.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from . import store

__all__ = ["MESSAGES", "describe", "outcome"]

# Stored state (None: the order is gone) -> (state, hint).
_OUTCOMES = {
    store.PENDING: ("pending", "not_scanned"),
    store.SCANNED: ("pending", "scanned"),
    store.CONSUMED: ("complete", "signed_in"),
    store.CANCELLED: ("failed", "cancelled"),
    None: ("failed", "expired"),
}

MESSAGES = {
    ("pending", "not_scanned"): _("Scan the code with your phone's camera."),
    ("pending", "scanned"): _("Scanned on {device}. Press Continue on the phone to sign in."),
    ("complete", "signed_in"): _("Signed in on {device}."),
    ("failed", "cancelled"): _("The code was cancelled. Get a new code to try again."),
    ("failed", "expired"): _("The code has expired. Get a new code to try again."),
    ("failed", "unavailable"): _("Sign-in with a code is unavailable right now. Try again soon."),
}

_PHONE_SYSTEMS = ("iOS", "Android")


def _device_phrase(device: str) -> str:
    if not device:
        return str(_("another device"))
    if device.endswith(_PHONE_SYSTEMS):
        return str(_("a phone ({device})")).format(device=device)
    return str(_("another device ({device})")).format(device=device)


def describe(stored_state: str | None, device: str = "") -> dict[str, str]:
    """``{"state", "hint", "message"}`` for an order in ``stored_state``."""
    state, hint = _OUTCOMES.get(stored_state, ("failed", "expired"))
    return outcome(state, hint, device)


def outcome(state: str, hint: str, device: str = "") -> dict[str, str]:
    message = str(MESSAGES[state, hint]).format(device=_device_phrase(device))
    return {"state": state, "hint": hint, "message": message}
