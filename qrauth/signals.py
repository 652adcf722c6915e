"""Signals sent along an order's life, for audit logs and metrics.

Every signal is sent with ``sender`` set to the flow's name (``"handoff"``)
and these keyword arguments:

``issued``     request, user, order_ref: a QR page created an order.
``scanned``    request, user, order_ref, device: a GET of the scan URL
               (``device`` describes the scanner, e.g. "Safari on iOS").
``signed_in``  request, user, order_ref: the scanner is now signed in.
``rejected``   request, user (None when unknown), order_ref (None when the
               token was not authentic), reason: a scan or sign-in refused.
               Reasons: "invalid" (unknown, expired, used or cancelled),
               "user_gone", "inactive", "password_changed", "signed_out"
               (the issuing browser no longer holds the order), "declined"
               (the scanner said it was not them).

``order_ref`` is a keyed hash of the order, safe to log. ``request.path`` of
``scanned``, ``signed_in`` and ``rejected`` is the scan URL, whose token may
still work: log ``order_ref``, not the path.
"""

from django.dispatch import Signal

__all__ = ["issued", "rejected", "scanned", "signed_in"]

issued = Signal()
scanned = Signal()
signed_in = Signal()
rejected = Signal()
