"""Signals sent along an order's life, for audit logs and metrics.

Every signal is sent with ``sender`` set to the flow's name (``"handoff"``
or ``"approve"``) and these keyword arguments:

``issued``     request, user (None for approve: the browser is anonymous),
               order_ref: a QR page created an order.
``scanned``    request, user, order_ref, device: the phone's GET of the
               page a scan URL leads to, without the token (again on a
               reload; ``device`` describes the scanner, e.g. "Safari on
               iOS").
               For approve it is sent once the phone is signed in, with
               the phone's ``user``.
``approved``   request, user, order_ref, device: a signed-in phone
               approved an approve order (``user`` is the phone's, who the
               desktop will be signed in as); or, for a hand-off with
               desktop confirmation, the desktop allowed the phone
               (``user`` is the desktop's, ``device`` "").
``denied``     request, user, order_ref, device, reason: a signed-in phone
               denied an approve order, or a desktop denied a phone;
               ``reason`` is "denied" (a Deny button) or "wrong_number"
               (number matching failed); requester, requester_ip: the
               device that asked and its address (the browser that showed
               the approve code, or the phone that asked its desktop), ""
               where unknown.
``signed_in``  request, user, order_ref, signin: the scanner (hand-off) or
               the requesting browser (approve) is now signed in;
               ``signin`` is its record (qrauth.models.SignIn), None while
               AUTH_QR_CODE_RECORD_SIGNINS is off.
``rejected``   request, user (None when unknown), order_ref (None when the
               token was not authentic), reason: a scan or sign-in refused.
               Reasons: "invalid" (unknown, expired, used or cancelled),
               "user_gone", "inactive", "password_changed", "not_allowed"
               (AUTH_QR_CODE_USER_POLICY said no), "signed_out" (the
               issuing browser no longer holds the order), "declined" (the
               scanner said it was not them), "tampered" (the order in
               Redis does not match its seal: edited by hand).
               When QRAuthBackend refused a sign-in at its last step, also
               at_sign_in=True, approver and approver_device (approve: the
               claimer digest and the device of the phone that approved;
               "" for a hand-off); other senders leave them out.
``device_signed_out``  request, user, signin, by: a device that qrauth
               signed in was signed out. ``sender`` is the flow that signed
               it in, ``signin`` its record, ``by`` how: "another_device"
               (the devices page of another session), "all_others",
               "itself" (it logged out, or signed itself out there), or
               "session_ended" (its session lost the sign-in without a
               logout: a login as someone else, a new sign-in, a password
               changed elsewhere). ``request`` is the request that signed
               it out: the device's own for "itself" and "session_ended",
               another session's otherwise.

``order_ref`` is a keyed hash of the order, safe to log. ``request.path`` of
``scanned``, ``approved``, ``denied``, ``signed_in`` and ``rejected`` may be
a scan URL, whose token may still work: log ``order_ref``, not the path.
"""

from django.dispatch import Signal

__all__ = [
    "approved",
    "denied",
    "device_signed_out",
    "issued",
    "rejected",
    "scanned",
    "signed_in",
]

issued = Signal()
scanned = Signal()
approved = Signal()
denied = Signal()
signed_in = Signal()
rejected = Signal()
device_signed_out = Signal()
