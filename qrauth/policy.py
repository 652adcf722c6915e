"""Which flows are on, and who may use them.

``AUTH_QR_CODE_HANDOFF_ENABLED`` and ``AUTH_QR_CODE_APPROVE_ENABLED`` turn a
flow's views off (404). ``AUTH_QR_CODE_USER_POLICY`` names a callable
``policy(request, user, flow) -> bool`` that a site uses to keep accounts
out of QR sign-in: superusers, say, or accounts whose second factor QR
sign-in must not bypass. It is asked whenever a user would show, use or
approve a code, and again at sign-in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from .conf import settings
from .model import Flow

__all__ = ["APPROVE", "HANDOFF", "flow_enabled", "requires_flow", "user_may_use"]

# Plain strings, as signals and policies get them: Django matches a signal's
# sender by identity, and "handoff" written anywhere is this very string.
HANDOFF, APPROVE = Flow.HANDOFF.value, Flow.APPROVE.value


def flow_enabled(flow: str) -> bool:
    return bool(getattr(settings, Flow(flow).setting))


def requires_flow(flow: str) -> Callable:
    """A view of ``flow`` answers 404 while the flow is turned off."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not flow_enabled(flow):
                raise Http404(f"QR sign-in ({flow}) is turned off")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _policy() -> Callable[[HttpRequest | None, AbstractBaseUser, str], bool] | None:
    path = settings.USER_POLICY
    if not path:
        return None
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"AUTH_QR_CODE_USER_POLICY: cannot import {path!r} ({exc})."
        ) from exc


def user_may_use(request: HttpRequest | None, user: AbstractBaseUser, flow: str) -> bool:
    """Whether ``user`` may use ``flow``: active, and allowed by the site's policy."""
    if not getattr(user, "is_active", True):
        return False
    policy = _policy()
    return policy is None or bool(policy(request, user, flow))
