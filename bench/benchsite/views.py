"""The baseline: the least a session-bound JSON poll can cost.

It pays what every such view pays (middleware, loading the session from the
database) plus one Redis GET, and nothing qrauth-specific.
"""

from functools import cache

import redis
from django.conf import settings
from django.http import HttpRequest, JsonResponse


@cache
def _redis() -> redis.Redis:
    """One client (one connection pool) per worker process."""
    return redis.Redis.from_url(settings.AUTH_QR_CODE_REDIS_URL)


def bare(request: HttpRequest, key: str) -> JsonResponse:
    bound = request.session.get("qrauth_session") is not None  # the binding secret
    found = _redis().get(f"bench:bare:{key}") is not None
    return JsonResponse({"bound": bound, "found": found})


def whoami(request: HttpRequest) -> JsonResponse:
    """Who this session is signed in as: how the bench checks a journey's end."""
    return JsonResponse({"username": request.user.get_username() or None})
