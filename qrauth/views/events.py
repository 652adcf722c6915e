"""The waiting screens' event streams (AUTH_QR_CODE_PUSH): server-sent
events carrying the same status the polls return, as it changes (the
steps: qrauth/flows/push.py). Async views, for an ASGI server.

Each event is the whole status, so a stream that resumes after a dropped
connection (the browser sends ``Last-Event-ID`` after the ``retry:`` wait)
needs no replay: its first event is the order as the store has it then,
final state included. Only the browser that owns the order may listen;
anyone else gets 404, as from the status poll.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

from asgiref.sync import SyncToAsync, sync_to_async
from django.db import connections, transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    StreamingHttpResponse,
)
from django.utils import translation

from .._compat import login_not_required
from ..conf import settings
from ..flows import push
from ..model import Flow, OverLimit, StoreUnavailable
from ..policy import flow_enabled
from . import responses
from .confirm import wait_payload
from .decorators import already_logged, protect_headers
from .status import status_payload

__all__ = ["code_events", "wait_events"]

# Reconnecting after a dropped stream (a deploy restarts every server at
# once): between 1 and 5 s, spread so that they do not all come back in
# the same instant.
RETRY_MS = (1000, 5000)

Payload = Callable[[HttpRequest, Any], dict[str, Any]]


@login_not_required  # the approve flow's browser is not signed in
@transaction.non_atomic_requests  # ATOMIC_REQUESTS cannot wrap an async view
async def code_events(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The issuing browser's stream of its order ``auth_code`` (either flow)."""
    return await _stream(request, push.open_code_watch, auth_code, status_payload)


@login_not_required
@transaction.non_atomic_requests
async def wait_events(request: HttpRequest, auth_code: str) -> HttpResponse:
    """The stream of the phone that waits for its desktop's Allow."""
    if not flow_enabled(Flow.HANDOFF.value):
        raise Http404("QR sign-in (handoff) is turned off")
    return await _stream(request, push.open_wait_watch, auth_code, _wait_payload)


def _wait_payload(request: HttpRequest, found: tuple[Any, float]) -> dict[str, Any]:
    return wait_payload(*found)


async def _stream(
    request: HttpRequest, open_watch: Callable[..., push.Watch], auth_code: str, payload: Payload
) -> HttpResponse:
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if not push.served(request):
        raise Http404("no event streams here (AUTH_QR_CODE_PUSH, or not ASGI)")
    try:
        watch = await sync_to_async(_opened)(open_watch, request, auth_code)
    except StoreUnavailable:
        response = already_logged(
            responses.unavailable_json(request), settings.REDIS_FAILURE_BACKOFF
        )
    except OverLimit as over:
        wait = max(math.ceil(over.retry_after), 1)
        response = already_logged(responses.limited_json(request, wait), wait)
    else:
        # The language of the request, for every event: the stream goes on
        # after the middleware that chose it is done.
        events = _events(request, watch, payload, translation.get_language())
        response = StreamingHttpResponse(events, content_type="text/event-stream")
        # No proxy may hold the events back (nginx reads this header).
        response["X-Accel-Buffering"] = "no"
    return protect_headers(response)


async def _events(
    request: HttpRequest, watch: push.Watch, payload: Payload, language: str
) -> AsyncIterator[str]:
    try:
        _let_go_of_the_request()
        yield f"retry: {random.randint(*RETRY_MS)}\n\n"
        before, status = None, {}
        async with aclosing(push.follow(watch)) as snapshots:
            async for snapshot in snapshots:
                if snapshot is None:
                    yield "event: ping\ndata: {}\n\n"
                    continue
                if push.ticked(before, snapshot):
                    status = _with_frame(status, before, snapshot)
                else:
                    with translation.override(language):
                        status = _payload(request, snapshot, payload)
                before = snapshot
                yield _event(status)
                if push.is_final(status):
                    return
    except Http404:  # the order is no longer this browser's (a newer code, a logout)
        yield "event: gone\ndata: {}\n\n"
    finally:
        # Uncounted even when the browser went away (this task cancelled):
        # not awaited, a cancelled task cannot wait for it.
        asyncio.get_running_loop().run_in_executor(None, watch.release)


def _payload(request: HttpRequest, snapshot: Any, payload: Payload) -> dict[str, Any]:
    if snapshot is push.UNAVAILABLE:
        return responses.unavailable_status()
    return payload(request, snapshot)


def _with_frame(status: dict[str, Any], before: Any, now: Any) -> dict[str, Any]:
    """``status`` with the frame of ``now`` in place of the frame of
    ``before``: the same scan URL but for its token, and the time left."""
    frame = status["frame"].replace(before.frame, now.frame)
    return {**status, "frame": frame, "expires_in": round(now.expires_in, 1)}


def _event(status: dict[str, Any]) -> str:
    # The id is what the person was told: the browser sends it back as
    # Last-Event-ID when it reconnects; the first event then is the order
    # as it is, so nothing is replayed.
    data = json.dumps(status, separators=(",", ":"))
    return f"id: {status.get('hint', '')}\ndata: {data}\n\n"


def _opened(
    open_watch: Callable[..., push.Watch], request: HttpRequest, auth_code: str
) -> push.Watch:
    """``open_watch``, in the request's worker thread, which then closes its
    database connection: the stream needs it no more (see below)."""
    try:
        return open_watch(request, auth_code)
    finally:
        _close_database()


def _let_go_of_the_request() -> None:
    """Hold no database connection and no thread for the stream's minutes.

    The session was read (database sessions: one query) in this request's
    own worker thread, which Django's ASGI handler keeps, with its database
    connection, until the response ends. The stream needs neither: the
    connection was closed in that thread (``_opened``); let the thread go.
    A later sync call of this request (Django's own, at the end) gets a
    new one.
    """
    # asgiref's own bookkeeping (3.x): if it ever changes, the thread stays.
    current = getattr(SyncToAsync, "thread_sensitive_context", None)
    executors = getattr(SyncToAsync, "context_to_thread_executor", None)
    context = current.get(None) if current is not None else None
    if context is None or executors is None or getattr(context, "_executor", None) is not None:
        return  # no such thread, or one the server owns
    executor = executors.pop(context, None)
    if executor is not None:
        executor.shutdown(wait=False)


def _close_database() -> None:
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:  # a test's transaction stays
            connection.close()
