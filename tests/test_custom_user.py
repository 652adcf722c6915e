"""A custom user model: UUID primary key, email as the username field."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model

from .helpers import browser_of, scan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]


@pytest.fixture
def email_user(settings):
    settings.AUTH_USER_MODEL = "tests.EmailUser"
    # The sign-in records' foreign key was bound to auth.User when the
    # models loaded: a swap in mid-run cannot move it. Records of custom
    # users are tested under settings that name them from the start
    # (tests/test_signins.py, custom_user_journeys.py).
    settings.AUTH_QR_CODE_RECORD_SIGNINS = False
    return get_user_model().objects.create_user("ada@example.com", password="pw")


@pytest.fixture
def email_desktop(email_user):
    return browser_of(email_user)


def test_signs_in_a_user_with_a_uuid_key(email_user, email_desktop, phone):
    path = scan(email_desktop)
    page = phone.get(path, follow=True)
    assert "Sign in as ada@example.com on this device?" in page.content.decode()
    assert phone.post(path).status_code == 302
    assert uuid.UUID(phone.session[SESSION_KEY]) == email_user.pk


def test_password_change_refuses_the_code(email_user, email_desktop, phone):
    path = scan(email_desktop)
    email_user.set_password("new")
    email_user.save()
    phone.post(path)
    assert SESSION_KEY not in phone.session
