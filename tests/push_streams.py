"""Event streams as a browser's EventSource reads them, for the push tests:
Django's AsyncClient with a sync Client's cookies (the same browser), the
sync clients' calls in a thread (their views are sync)."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client
from django.urls import reverse

DEADLINE = 10.0  # seconds: a loaded machine


class Stream:
    """An open event stream, event by event: (event type, data)."""

    def __init__(self, response) -> None:
        self.response = response
        self.retry: int | None = None
        self._chunks = aiter(response.streaming_content)

    async def next(self, deadline: float = DEADLINE) -> tuple[str, dict]:
        while True:
            chunk = await asyncio.wait_for(anext(self._chunks), deadline)
            kind, data = "message", None
            for line in (chunk.decode() if isinstance(chunk, bytes) else chunk).splitlines():
                name, _, value = line.partition(": ")
                if name == "retry":
                    self.retry = int(value)
                elif name == "event":
                    kind = value
                elif name == "data":
                    data = json.loads(value)
            if data is not None:
                return kind, data

    async def status(self, deadline: float = DEADLINE) -> dict:
        """The next status event (heartbeats skipped), within ``deadline``
        seconds in all: heartbeats must not keep a test waiting forever."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while True:
            kind, data = await self.next(max(end - loop.time(), 0.001))
            if kind == "message":
                return data
            assert kind == "ping", kind

    async def ended(self) -> bool:
        try:
            await asyncio.wait_for(anext(self._chunks), DEADLINE)
        except StopAsyncIteration:
            return True
        return False


def async_twin(browser: Client) -> AsyncClient:
    """An AsyncClient with ``browser``'s cookies: the same browser."""
    twin = AsyncClient()
    twin.cookies = browser.cookies
    return twin


async def open_stream(browser: Client, auth_code: str, name: str = "qrauth_events", **headers):
    response = await async_twin(browser).get(reverse(name, args=[auth_code]), headers=headers)
    return response


async def stream_of(browser: Client, auth_code: str, **headers) -> Stream:
    response = await open_stream(browser, auth_code, **headers)
    assert response.status_code == 200, response.content
    return Stream(response)


def in_thread(function, *args, **kwargs):
    return sync_to_async(function)(*args, **kwargs)


def frame_path(payload: dict) -> str:
    return urlsplit(payload["frame"]).path
