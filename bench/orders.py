"""Setup: many open orders, each issued to its own user's signed-in session
(as many waiting screens are many people: qrauth's rate limits stay at
their defaults).

Orders are issued through qrauth's own QR page view, with Django's test
Client in-process, which is much faster than going over HTTP and goes
through the same code. Needs DJANGO_SETTINGS_MODULE and the BENCH_*
variables set.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django

BARE_KEY_PREFIX = "bench:bare:"
DESKTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
# What the load compares: qrauth's status poll and the baseline view.
ENDPOINTS = {"status": "/qr/status/{}/", "bare": "/bare/{}/"}


@dataclass(frozen=True)
class Poll:
    """One waiting screen: its session cookie and the order it polls."""

    cookie: str
    auth_code: str

    def path(self, endpoint: str) -> str:
        """The URL path of this order at ``endpoint`` (a key of ENDPOINTS)."""
        return ENDPOINTS[endpoint].format(self.auth_code)


def use_site(folder: Path, redis_url: str) -> None:
    """Point the bench site at a new SQLite file in ``folder`` and at
    ``redis_url``; then set Django up, once, with setup_django()."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="benchsite.settings",
        BENCH_DATABASE=str(folder / "db.sqlite3"),
        BENCH_REDIS_URL=redis_url,
    )


def setup_django() -> None:
    """Set Django up for the bench site and migrate its database; once is enough."""
    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # so that responses carry their template context
    call_command("migrate", verbosity=0)


def issue_orders(count: int, prefix: str = "bench") -> list[Poll]:
    """Issue ``count`` orders (and their bare keys), each to a new user
    named ``prefix-<n>``. Call setup_django() first."""
    from django.contrib.auth import get_user_model
    from django.db import connections, transaction

    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"{prefix}-{n}") for n in range(count)
    )
    # One transaction: a commit (and its fsync) per session write would make
    # setup take longer than the measurements.
    with transaction.atomic():
        polls = [_issue(user) for user in users]
    connections.close_all()
    _store_bare_keys(polls)
    return polls


def new_user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create(username=username)


def browser(user_agent: str, address: str, user: Any = None) -> Any:
    """A test Client with this User-Agent and address, signed in as ``user`` if given."""
    from django.test import Client

    client = Client(headers={"user-agent": user_agent}, REMOTE_ADDR=address)
    if user is not None:
        client.force_login(user)
    return client


def _issue(user) -> Poll:
    from django.test import Client

    client = Client()
    client.force_login(user)
    response = client.get("/qr/")
    if response.status_code != 200:
        raise RuntimeError(f"the QR page answered {response.status_code} during setup")
    # The browser's cookies: its session's, and qrauth's codes cookie.
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    return Poll(cookie, response.context["auth_code"])


def _store_bare_keys(polls: list[Poll]) -> None:
    from qrauth.store import get_redis

    pipeline = get_redis().pipeline(transaction=False)
    for poll in polls:
        pipeline.set(BARE_KEY_PREFIX + poll.auth_code, "1")
    pipeline.execute()


def write_requests(polls: list[Poll], path: Path, endpoint: str) -> Path:
    """One ``path<TAB>cookie`` line per order, for the wrk script."""
    lines = (f"{poll.path(endpoint)}\t{poll.cookie}\n" for poll in polls)
    path.write_text("".join(lines))
    return path


def fetch_json(base_url: str, poll: Poll, endpoint: str) -> dict:
    """What a poll of ``endpoint`` ("status" or "bare") answers; raises unless 200."""
    url = base_url + poll.path(endpoint)
    request = urllib.request.Request(url, headers={"Cookie": poll.cookie})
    with urllib.request.urlopen(request, timeout=5) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
        return json.loads(response.read())
