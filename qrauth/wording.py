"""What a person reads about an order: one table from (flow, state, hint)
to a sentence, in the spirit of BankID's recommended user messages.

``state`` is what a program acts on (pending, complete, failed), ``hint``
says why, ``message`` is for people, and ``tone`` is how a page shows it:
"success", "failure", "warning" (not over: Redis is away), "info" (a phone
is at it) or "" (nothing has happened yet).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .devices import device_label
from .model import Flow, State

__all__ = ["MESSAGES", "describe", "outcome"]

HANDOFF, APPROVE = Flow.HANDOFF.value, Flow.APPROVE.value
# The phone's side of a hand-off that waits for the desktop's confirmation.
HANDOFF_PHONE = "handoff_phone"

# Stored state (None: the order is gone) -> (state, hint).
_OUTCOMES = {
    State.PENDING: ("pending", "not_scanned"),
    State.SCANNED: ("pending", "scanned"),
    State.APPROVED: ("complete", "approved"),
    State.CONSUMED: ("complete", "signed_in"),
    State.CANCELLED: ("failed", "cancelled"),
    State.DENIED: ("failed", "denied"),
    State.WRONG_NUMBER: ("failed", "wrong_number"),
    State.REFUSED: ("failed", "refused"),
    State.ASKING_DESKTOP: ("pending", "confirm"),
    State.ALLOWED: ("pending", "allowed"),
    None: ("failed", "expired"),
}

# Sentences for any flow; a flow's own entries come first. Only an approve
# order is ever approved or denied, but every state has a sentence.
_ANY = None

MESSAGES = {
    (HANDOFF, "pending", "not_scanned"): _("Scan the code with your phone's camera."),
    (HANDOFF, "pending", "scanned"): _(
        "Scanned on {device}. Press Continue on the phone to sign in."
    ),
    (HANDOFF, "complete", "signed_in"): _("Signed in on {device}."),
    (HANDOFF, "pending", "confirm"): _(
        "{device} at {address} asks to sign in as you. Allow it only if it is your own phone."
    ),
    (HANDOFF, "pending", "allowed"): _("Allowed. The phone is signing in…"),
    (HANDOFF, "failed", "denied"): _("You denied the sign-in. Nobody was signed in."),
    (HANDOFF_PHONE, "pending", "waiting"): _(
        "Waiting for the other screen: allow the sign-in there."
    ),
    (HANDOFF_PHONE, "complete", "approved"): _("Allowed on the other screen. Signing you in…"),
    (HANDOFF_PHONE, "complete", "signed_in"): _("You are signed in."),
    (HANDOFF_PHONE, "failed", "denied"): _(
        "The other screen denied the sign-in. Nobody was signed in."
    ),
    (APPROVE, "pending", "not_scanned"): _(
        "Scan the code with the camera of a phone on which you are signed in."
    ),
    (APPROVE, "pending", "scanned"): _(
        "Scanned on {device}. Check the details on the phone and approve the sign-in there."
    ),
    (APPROVE, "pending", "scanned_number"): _(
        "Scanned on {device}. Type the number {number} on the phone and approve the sign-in."
    ),
    (_ANY, "complete", "approved"): _("Approved on {device}. Signing you in…"),
    (APPROVE, "complete", "signed_in"): _("You are signed in."),
    (_ANY, "failed", "denied"): _(
        "The sign-in was denied on the phone. Nobody was signed in. Try again if that was a "
        "mistake."
    ),
    (_ANY, "failed", "wrong_number"): _(
        "A wrong number was typed on the phone, so the sign-in was stopped. Try again."
    ),
    (_ANY, "failed", "refused"): _(
        "This account cannot be signed in here with a phone. Sign in with your password."
    ),
    (_ANY, "failed", "cancelled"): _("The code was cancelled. Get a new code to try again."),
    (_ANY, "failed", "expired"): _("The code has expired. Get a new code to try again."),
    (_ANY, "failed", "unavailable"): _(
        "Sign-in with a code is unavailable right now. Try again soon."
    ),
    # A poll sooner than AUTH_QR_CODE_STATUS_INTERVAL; the order is unchanged.
    (_ANY, "pending", "slow_down"): _("Checking less often for a moment; the code still works."),
}

_PHONE_SYSTEMS = ("iOS", "Android")

# Hints of an order that nobody has done anything with yet.
_QUIET = ("not_scanned", "slow_down")


def _tone(state: str, hint: str) -> str:
    if hint == "unavailable":
        return "warning"
    if state == "complete":
        return "success"
    if state == "failed":
        return "failure"
    return "" if hint in _QUIET else "info"


def _device_phrase(device: str) -> str:
    if not device:
        return str(_("another device"))
    if device.endswith(_PHONE_SYSTEMS):
        return str(_("a phone ({device})")).format(device=device_label(device))
    return str(_("another device ({device})")).format(device=device_label(device))


def describe(
    stored_state: str | None,
    device: str = "",
    flow: str = HANDOFF,
    number: str = "",
    address: str = "",
) -> dict[str, str]:
    """``{"state", "hint", "message", "tone"}`` for an order of ``flow`` in ``stored_state``."""
    state, hint = _OUTCOMES.get(stored_state, ("failed", "expired"))
    return outcome(state, hint, device, flow, number, address)


def outcome(
    state: str,
    hint: str,
    device: str = "",
    flow: str = HANDOFF,
    number: str = "",
    address: str = "",
) -> dict[str, str]:
    keys = [(flow, state, hint), (_ANY, state, hint)]
    if hint == "scanned" and number:
        keys.insert(0, (flow, state, "scanned_number"))
    text = next(MESSAGES[key] for key in keys if key in MESSAGES)
    phrase = _device_phrase(device)
    message = str(text).format(
        device=phrase, number=number, address=address or _("an unknown address")
    )
    if message[:1].islower():  # a sentence that starts with the device
        message = message[0].upper() + message[1:]
    return {"state": state, "hint": hint, "message": message, "tone": _tone(state, hint)}
