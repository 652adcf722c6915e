"""Each step of each flow as one call: the checks and the transitions of a
step, in order, from the request to an outcome.

A view turns its request into one call here and the outcome into a
response; no step builds a response, renders a template or sets a cookie.
Steps read the request (its session, user, headers) and may raise Http404
for an order that is not the caller's, as views do.

- ``handoff``: a signed-in desktop shows a code, a phone becomes that user;
- ``confirmation``: hand-off where the desktop must allow the phone;
- ``approve``: the phone's side of approve; ``signin``: the desktop's;
- ``codes``: the issuing browser's image, status and Cancel, either flow;
- ``common``: what the steps share (outcomes, refusals, signing in).
"""

from .common import Outcome

__all__ = ["Outcome"]
