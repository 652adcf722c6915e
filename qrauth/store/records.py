"""An order as Redis keeps it (a hash of one-letter fields, see scripts.py),
read into qrauth.model.Order."""

from __future__ import annotations

from typing import Any

from .. import tokens
from ..model import Flow, Order, State
from .scripts import pairs

__all__ = ["DEVICE_MAX", "order_from", "order_of_reply"]

# Longest device description kept; it is shown, never parsed.
DEVICE_MAX = 80


def order_from(order_id: str, fields: dict[str, str] | None) -> Order | None:
    """The order of ``fields`` (field -> text); None when it has no state (gone)."""
    if not fields or not fields.get("s"):
        return None
    field = fields.get
    return Order(
        id=order_id,
        ref=tokens.order_ref(order_id),
        flow=Flow.from_letter(field("f", "")),
        state=State.from_letter(field("s", "")),
        user_id=field("u", ""),
        auth_digest=field("a", ""),
        created=int(field("t") or 0),
        device=field("d", ""),
        minted=field("m") == "1",
        issuer=field("k", ""),
        binding=field("b", ""),
        requester=field("r", ""),
        requester_ip=field("i", ""),
        number=field("n", ""),
        claimer=field("c", ""),
        viewer=field("v", ""),
        seal=field("z", ""),
        # A hand-off is sealed when it is issued (and keeps that time when
        # its desktop allows a phone): its "e" is its "t", not stored twice.
        sealed_at=int(field("e") or field("t") or 0),
        usable=field("ok") == "1",
    )


def order_of_reply(order_id: str, reply: Any) -> Order | None:
    """The order a script answered with as field/value pairs."""
    return order_from(order_id, pairs(reply))
