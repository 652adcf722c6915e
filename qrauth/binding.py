"""Binding an order to the browser that asked for it.

The browser's session keeps a random secret per flow; the order in Redis
keeps only its keyed hash. Another browser, even one signed in as the same
user, cannot fetch the image, poll or cancel the order.
"""

from __future__ import annotations

import hmac

from django.http import HttpRequest

from . import tokens

__all__ = ["bind_order", "bound_order", "forget_order", "owns_order"]

_SESSION_KEY = "qrauth"


def bind_order(request: HttpRequest, flow: str, order_id: str) -> str:
    """Remember ``order_id`` in this browser; return the binding digest."""
    secret = tokens.new_secret()
    orders = dict(request.session.get(_SESSION_KEY, {}))
    orders[flow] = [order_id, secret]
    request.session[_SESSION_KEY] = orders
    return tokens.binding_digest(secret)


def bound_order(request: HttpRequest, flow: str) -> tuple[str, str] | None:
    """This browser's current order of ``flow``: (order id, binding digest)."""
    entry = request.session.get(_SESSION_KEY, {}).get(flow)
    if not entry:
        return None
    order_id, secret = entry
    return order_id, tokens.binding_digest(secret)


def owns_order(request: HttpRequest, flow: str, order_id: str) -> tuple[str, str] | None:
    """Like ``bound_order``, but only if it is ``order_id`` (constant time)."""
    bound = bound_order(request, flow)
    if bound is None or not hmac.compare_digest(bound[0].encode(), order_id.encode()):
        return None
    return bound


def forget_order(request: HttpRequest, flow: str) -> None:
    orders = dict(request.session.get(_SESSION_KEY, {}))
    if orders.pop(flow, None) is not None:
        request.session[_SESSION_KEY] = orders
