"""What every flow's steps share: the outcome a step returns, starting an
order for this browser, a code that does not work, and signing a device in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import authenticate, login
from django.http import HttpRequest

from .. import issuers, limits, scans, signals, signins, tokens
from ..devices import describe_user_agent
from ..model import Flow, Issue, Order

__all__ = [
    "Outcome",
    "announce_issued",
    "at_last_scan",
    "at_scan_url",
    "authenticate_order",
    "device",
    "invalid",
    "invalid_token",
    "log_in",
    "sign_in",
    "stale",
    "start_order",
]

logger = logging.getLogger("qrauth.flows")


@dataclass(frozen=True)
class Outcome:
    """What a step came to: ``kind`` names it (each view maps the kinds its
    steps return to responses), ``data`` holds what the response shows."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None


def device(request: HttpRequest) -> str:
    """How the device sending ``request`` describes itself, in brief."""
    return describe_user_agent(request.headers.get("User-Agent", ""))


def invalid(
    request: HttpRequest, flow: Flow, order_ref: str | None, user=None, reason: str = "invalid"
) -> Outcome:
    """A code that does not work: logged, signalled, and counted against the
    client's network (AUTH_QR_CODE_SCAN_FAILURES_PER_IP: OverLimit past it)."""
    limits.scan_failed(request)
    logger.info("qrauth: order %s refused: %s", order_ref, reason)
    signals.rejected.send(
        sender=flow.value, request=request, user=user, order_ref=order_ref, reason=reason
    )
    return Outcome("invalid")


def invalid_token(request: HttpRequest, flow: Flow, token: tokens.ScanToken) -> Outcome:
    """``invalid`` for the order ``token`` names."""
    return invalid(request, flow, tokens.order_ref(token.order_id))


def stale(request: HttpRequest) -> Outcome:
    """An animated frame that is no longer on the screen; counted as
    ``invalid`` is."""
    limits.scan_failed(request)
    return Outcome("stale")


def start_order(request: HttpRequest, flow: Flow) -> tuple[str, str, Issue]:
    """A new order id bound to this browser: (order id, binding digest, and
    what the store does with it: cancel this browser's previous order of
    ``flow``, count the rate limits). The caller stores the order; what the
    browser keeps of it goes out with the response, and only if the store
    took it (views.decorators)."""
    previous = issuers.bound_order(request, flow)
    order_id = tokens.new_secret()
    binding_digest = issuers.bind_order(request, flow, order_id)
    issue = Issue(replaces=previous, limits=limits.order_limits(request, flow))
    return order_id, binding_digest, issue


def announce_issued(request: HttpRequest, flow: Flow, order_id: str, user=None) -> None:
    ref = tokens.order_ref(order_id)
    logger.info("qrauth: order %s issued", ref)
    signals.issued.send(sender=flow.value, request=request, user=user, order_ref=ref)


BACKEND = "qrauth.backends.QRAuthBackend"


def authenticate_order(request: HttpRequest, order: Order) -> Any:
    """The order's user, if QRAuthBackend vouches for them now, else None.

    authenticate() tries every backend in turn: a site backend listed first
    that answers for any credentials must not sign someone else in."""
    user = authenticate(request, qrauth_order=order)
    if user is None or getattr(user, "backend", None) != BACKEND:
        return None
    return user if str(user.pk) == order.user_id else None


def sign_in(request: HttpRequest, order: Order, flow: Flow) -> Outcome:
    """Log the order's user in on this device (a new session), log and
    signal it: Outcome "signed_in"; "refused" when the backend would not
    (it logged and signalled why)."""
    user = authenticate_order(request, order)
    if user is None:
        return Outcome("refused")
    return log_in(request, user, order, flow)


def log_in(request: HttpRequest, user: Any, order: Order, flow: Flow) -> Outcome:
    """Log ``user`` in on this device for ``order``, record, log and signal it."""
    with signins.signing_in(request, user, order, flow) as record:
        login(request, user)
    logger.info("qrauth: order %s signed in a device", order.ref)
    signals.signed_in.send(
        sender=flow.value, request=request, user=user, order_ref=order.ref, signin=record
    )
    return Outcome("signed_in", {"user": user})


def parse(auth_code: str) -> tokens.ScanToken | None:
    """The parts of a well-formed, authentic scan token, else None."""
    return tokens.parse_scan_token(auth_code)


# A step given the token, and the scan token's text it was read from.
TokenStep = Callable[[HttpRequest, tokens.ScanToken, str], Outcome]


def at_scan_url(
    request: HttpRequest, flow: Flow, auth_code: str, look: TokenStep, answer: TokenStep
) -> Outcome:
    """A scan URL of ``flow``: POST answers, GET and HEAD look; "invalid"
    for a token that is not one (forged, cut short)."""
    token = parse(auth_code)
    if token is None:
        return invalid(request, flow, None)
    step = answer if request.method == "POST" else look
    return step(request, token, auth_code)


def at_last_scan(request: HttpRequest, flow: Flow, show: TokenStep, answer: TokenStep) -> Outcome:
    """The page for the code this phone scanned last (the scan cookie), the
    token out of its address: POST answers, GET and HEAD show; "invalid"
    without a scan."""
    remembered = scans.remembered_scan(request)
    if remembered is None:
        return invalid(request, flow, None)
    auth_code, token = remembered
    step = answer if request.method == "POST" else show
    return step(request, token, auth_code)
