"""The phone session that answers a code: what an order keeps of it.

An approve order keeps the keyed hash of a random secret that the phone's
session keeps for good (the claimer digest): the first session to answer
claims the order, and the number to type is derived from it. A hand-off
with desktop confirmation keeps it for the phone that asked to sign in.

An app calling the JSON API with a header credential has no session of its
own: its secret is the credential's (qrauth.credentials), so the order
keeps a keyed hash of the token, never the token.
"""

from __future__ import annotations

import hmac

from django.http import HttpRequest

from . import tokens
from .credentials import credential_of

__all__ = ["claimer_digest", "existing_claimer_digest", "is_claimer"]

_CLAIMER_KEY = "qrauth_claimer"


def claimer_digest(request: HttpRequest) -> str:
    """This session's claimer digest, its secret made on first use."""
    secret = _secret(request)
    if not secret:
        secret = request.session[_CLAIMER_KEY] = tokens.new_secret()
    return _claimer_of(secret)


def _secret(request: HttpRequest) -> str | None:
    credential = credential_of(request)
    if credential is not None:
        # Apart from any session secret ("api:" never starts a random one),
        # and from any other user's, whatever a site's keys look like.
        return f"api:{credential.scheme}:{credential.user.pk}:{credential.key}"
    return request.session.get(_CLAIMER_KEY)


def _claimer_of(secret: str) -> str:
    return tokens.keyed_hash("claimer", secret)


def existing_claimer_digest(request: HttpRequest) -> str | None:
    """``claimer_digest`` of a session that has one; None, and no session
    write, for any other."""
    secret = _secret(request)
    return _claimer_of(secret) if secret else None


def is_claimer(request: HttpRequest, claimer: str) -> bool:
    """Whether this session is the one behind ``claimer`` (changes nothing)."""
    secret = _secret(request)
    if not secret or not claimer:
        return False
    return hmac.compare_digest(_claimer_of(secret).encode(), claimer.encode())
