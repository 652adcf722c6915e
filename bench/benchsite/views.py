"""The baselines: the least a session-bound JSON poll can cost, and the
least a session-bound event stream of frames can cost.

Each pays what every such view pays (middleware, loading the session from
the database) plus, for the poll, one Redis GET, and nothing
qrauth-specific.
"""

import asyncio
import json
import random
from functools import cache

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from qrauth.views.events import _close_database, _let_go_of_the_request

# An event as large as qrauth's waiting-page status (the frame's token as long).
_EVENT = {
    "state": "pending",
    "hint": "not_scanned",
    "message": "Scan the code with the camera of a phone on which you are signed in.",
    "tone": "",
    "expires_in": 299.0,
    "device": "",
    "number": None,
    "show_code": True,
}
_TOKEN_TAIL = "0" * 64


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


@require_GET
async def bare_events(request: HttpRequest, key: str) -> StreamingHttpResponse:
    """An event stream with a new frame URL every second, at a phase of its
    own in the second, after reading the session: what any such stream costs
    in this site. It lets go of the request's database connection and
    thread as qrauth's does (bench/push.py's floor for qrauth's stream)."""
    bound = await sync_to_async(_session_bound)(request)
    return StreamingHttpResponse(_frames(request, key, bound), content_type="text/event-stream")


def _session_bound(request: HttpRequest) -> bool:
    try:
        return request.session.get("qrauth_session") is not None
    finally:
        _close_database()  # in the same thread hop, as qrauth's stream does


async def _frames(request: HttpRequest, key: str, bound: bool):
    _let_go_of_the_request()
    yield "retry: 3000\n\n"
    loop = asyncio.get_running_loop()
    tick_at, second = loop.time() + random.random(), 0
    base = request.build_absolute_uri(f"/qr/approve/{key}.")
    while True:
        # On a schedule kept here: a timer may fire a little early (uvloop
        # rounds to the millisecond), which must not make two frames.
        await asyncio.sleep(max(tick_at - loop.time(), 0))
        tick_at, second = max(tick_at + 1.0, loop.time()), second + 1
        event = {**_EVENT, "frame": f"{base}{second}.{_TOKEN_TAIL}/", "bound": bound}
        yield f"id: not_scanned\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"
