"""Redis restarted in the middle of a flow: the orders are gone (nothing is
persisted), and the very first request after the restart says "start
again" (never a 5xx). Scripts and connections come back by themselves."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from .redis_servers import RedisServer

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

INVALID = reverse("invalid_auth_code")


def restart(server: RedisServer) -> None:
    server.stop()
    server.start()


def status(browser: Client, auth_code: str) -> dict:
    response = browser.get(reverse("qrauth_status", args=[auth_code]))
    assert response.status_code == 200
    return json.loads(response.content)


def test_a_hand_off_interrupted_by_a_restart_says_start_again(own_server, desktop, phone):
    auth_code = desktop.get(reverse("qr_code_page")).context["auth_code"]
    path = urlsplit(status(desktop, auth_code)["frame"]).path
    scanned = phone.get(path)  # scanned; pooled connections and scripts exist
    assert scanned["Location"] == reverse("qrauth_continue")
    assert phone.get(scanned["Location"]).status_code == 200
    restart(own_server)
    assert phone.post(path)["Location"] == INVALID
    assert SESSION_KEY not in phone.session
    assert status(desktop, auth_code)["message"] == (
        "The code has expired. Get a new code to try again."
    )
    page = desktop.get(reverse("qr_code_page"))  # a new code works at once
    new_path = urlsplit(status(desktop, page.context["auth_code"])["frame"]).path
    phone.get(new_path)
    assert phone.post(new_path)["Location"] == "/"


def test_an_approval_interrupted_by_a_restart_says_start_again(own_server, alice):
    computer = Client()
    auth_code = computer.get(reverse("qrauth_signin")).context["auth_code"]
    path = urlsplit(status(computer, auth_code)["frame"]).path
    phone = Client()
    phone.force_login(alice)
    assert phone.get(path, follow=True).status_code == 200  # the page notes this phone
    number = status(computer, auth_code)["number"]
    assert phone.post(path, {"action": "approve", "number": number}).status_code == 200
    restart(own_server)
    page = computer.post(reverse("qrauth_collect", args=[auth_code]), {"confirm": "account"})
    assert page.status_code == 200
    assert "The code has expired. Get a new code to try again." in page.content.decode()
    assert SESSION_KEY not in computer.session
    assert phone.get(path)["Location"] == INVALID
