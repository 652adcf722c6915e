"""The issuing browser's code, whatever the flow: its plain image, its live
status (with the animated frame of now), and calling it off.

Only the browser that issued an order gets any of these; anyone else gets
404.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.http import Http404, HttpRequest

from .. import clock, issuers, store, tokens
from ..conf import settings
from ..model import Flow, State

__all__ = [
    "CodeStatus",
    "cancel",
    "looked_at",
    "number_on_screen",
    "order_status",
    "picture_token",
    "refreshed",
    "status",
]


def picture_token(request: HttpRequest, flow: Flow, auth_code: str, user_id: object = "") -> str:
    """The token of the plain QR image of this browser's order of ``flow``;
    404 for anyone else. A hand-off's is its static code, which works only
    once the image was fetched; an approve order's is the frame of now,
    stale in AUTH_QR_CODE_FRAME_TOLERANCE seconds: the browser asking to be
    signed in may be an attacker's, and a code it could send a victim must
    go stale before the victim acts on it. 404 too once a signed-in phone
    has the approve code open (``looked_at``): the store's PICTURE refuses
    it in the same round trip."""
    bound = issuers.owned_order(request, flow, auth_code)
    created = None if bound is None else store.picture_created(auth_code, bound[1], user_id)
    if created is None:
        raise Http404("no such QR code")
    if flow == Flow.HANDOFF:
        return tokens.scan_token(auth_code)
    return tokens.frame_token(auth_code, max(clock.now() - created, 0))


def looked_at(state: State | None, viewer: str) -> bool:
    """Whether a signed-in phone has this approve code open. From then on the
    screen no longer shows it (as WhatsApp and BankID do): a second person
    cannot scan it over the shoulder. The store never moves a scanned order
    back to pending; a phone that walks away leaves the screen its "Get a
    new code"."""
    return state == State.SCANNED and bool(viewer)


def number_on_screen(order_id: str, state: State | None, matching: str, viewer: str) -> str:
    """The number the requesting screen shows, or "": only while scanned,
    and only once a signed-in phone session looks at the code (approve,
    number matching): the number is that session's own."""
    if state != State.SCANNED or not matching or not viewer:
        return ""
    return tokens.match_number(order_id, viewer)


@dataclass(frozen=True)
class CodeStatus:
    """What the issuing browser's screen shows of its order. ``state`` None:
    gone (expired). ``frame``: the token of the animated frame of now,
    while the code may still be scanned and the page animates; never once
    ``looked_at`` (a signed-in phone has the approve code open)."""

    flow: Flow
    state: State | None
    device: str = ""
    expires_in: float = 0
    number: str = ""
    address: str = ""
    frame: str | None = None
    looked_at: bool = False
    # When it was read (clock.monotonic) and when the order was created
    # (clock.now): what a stream needs to tick it on (``refreshed``).
    read_at: float = field(default=0.0, compare=False)
    created: int = field(default=0, compare=False)


def _bound(request: HttpRequest, auth_code: str) -> tuple[Flow, str, str]:
    # The binding lives in the session, which Django flushes at logout and at
    # a change of user: no need to load the user on every poll.
    found = issuers.find_order(request, auth_code)
    if found is None:
        raise Http404("no such code")
    return found


def status(request: HttpRequest, auth_code: str) -> CodeStatus:
    """The status of this browser's order ``auth_code``, of either flow, in
    one round trip; 404 for anyone else."""
    flow, order_id, binding_digest = _bound(request, auth_code)
    return order_status(flow, order_id, binding_digest)


def order_status(flow: Flow, order_id: str, binding_digest: str, paced: bool = True) -> CodeStatus:
    """``status`` of an order already known to be this browser's (``paced``:
    a poll, held to STATUS_INTERVAL; a stream's read is not)."""
    try:
        found = store.order_status(order_id, binding_digest, paced)
    except LookupError:
        raise Http404("no such code") from None
    if found is None:
        return CodeStatus(flow, None)
    # The number is for the eyes of whoever stands at this screen, once a
    # phone scanned: the phone must type it (approve, number matching).
    number = number_on_screen(order_id, found.state, found.number, found.viewer)
    hidden = looked_at(found.state, found.viewer)
    frame = None
    if found.state in State.OPEN and settings.ANIMATED and not hidden:
        frame = tokens.frame_token(order_id, max(clock.now() - found.created, 0))
    return CodeStatus(
        flow=flow,
        state=found.state,
        device=found.device,
        expires_in=found.expires_in,
        number=number,
        address=found.address if found.state == State.ASKING_DESKTOP else "",
        frame=frame,
        looked_at=hidden,
        read_at=clock.monotonic(),
        created=found.created,
    )


def refreshed(status: CodeStatus, order_id: str) -> CodeStatus | None:
    """``status`` as it is now without asking Redis: the frame of now and
    the time left; None when there is no new frame to draw (none now, or
    the second's frame is the one on the screen)."""
    if status.frame is None:
        return None
    now = clock.monotonic()
    frame = tokens.frame_token(order_id, max(clock.now() - status.created, 0))
    if frame == status.frame:
        return None  # the same second still
    expires_in = max(status.expires_in - (now - status.read_at), 0)
    return replace(status, frame=frame, expires_in=expires_in, read_at=now)


def cancel(request: HttpRequest, auth_code: str) -> tuple[Flow, bool]:
    """The Cancel button of a QR page: (its flow, whether the code was open
    and stops working now)."""
    flow, order_id, binding_digest = _bound(request, auth_code)
    return flow, store.cancel_order(order_id, binding_digest)
