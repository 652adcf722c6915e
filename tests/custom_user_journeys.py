"""Sign-in records of a custom user model: run by
tests/test_custom_user_signins.py, in a process of its own, under
tests/custom_user_settings.py (not collected with the rest of the suite:
the file name does not start with ``test_``)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from qrauth import signins
from qrauth.models import SignIn

from .helpers import IPHONE_SAFARI, browser_of
from .journeys import approve, hand_off

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]


@pytest.fixture
def user():
    return get_user_model().objects.create_user("ada@example.com", password="pw")


def test_the_user_model_is_the_custom_one():
    assert get_user_model()._meta.label != "auth.User"


def test_a_hand_off_is_recorded_listed_and_signed_out(user):
    desktop, phone = browser_of(user), Client(HTTP_USER_AGENT=IPHONE_SAFARI)
    hand_off(desktop, phone)
    record = SignIn.objects.get()
    assert record.user == user and record.user_id == user.pk
    assert phone.session[signins.MARKER] == str(record.public_id)
    (listed,) = desktop.get(reverse("qrauth_devices")).context["devices"]
    desktop.post(reverse("qrauth_device_sign_out", args=[listed["id"]]))
    assert phone.get("/").content == b"home: anonymous"


def test_an_approval_is_recorded(user):
    computer = Client()
    approve(computer, browser_of(user))
    record = SignIn.objects.get()
    assert (record.user, record.flow, record.outcome) == (user, "approve", "signed_in")
    assert computer.get("/").content == f"home: {user.get_username()}".encode()
