"""The devices page: the devices a QR code signed in and that are still
signed in, signing one out from another browser, and the middleware that
signs it out at its next request, under every session engine.

Each attack on it is a test here: signing out someone else's device, a
signed-out device that stays signed in, a copy of a signed cookie taken
before the sign-out, a GET or a forged POST to a sign-out URL.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate, login, update_session_auth_hash
from django.core import mail
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends import locmem
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse

from qrauth import signins
from qrauth.flows import devices as steps
from qrauth.middleware import SignedOutDevicesMiddleware
from qrauth.models import SignedOutBy, SignIn
from qrauth.signins import EXPIRY_SLACK

from .helpers import WINDOWS_CHROME, browser_of, signed_in_as
from .journeys import approve, hand_off

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

DEVICES = reverse("qrauth_devices")
OTHERS = reverse("qrauth_devices_sign_out_others")
MIDDLEWARE = "qrauth.middleware.SignedOutDevicesMiddleware"
AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"
ENGINES = ("db", "cached_db", "cache", "file", "signed_cookies")


def sign_out_url(record: SignIn) -> str:
    return reverse("qrauth_device_sign_out", args=[record.public_id])


def record_of(browser: Client) -> SignIn:
    """The record of the sign-in that ``browser``'s session holds."""
    return SignIn.objects.get(public_id=browser.session[signins.MARKER])


def home_says(browser: Client) -> str:
    """What the test site's home page says of who ``browser`` is."""
    return browser.get("/").content.decode()


@pytest.fixture
def computer():
    """A browser that is not signed in, on a desktop."""
    return Client(HTTP_USER_AGENT=WINDOWS_CHROME, REMOTE_ADDR="203.0.113.7")


@pytest.fixture
def alices_phone(desktop, phone):
    """The phone fixture, signed in as alice by a hand-off from her desktop."""
    hand_off(desktop, phone)
    assert signed_in_as(phone) == "alice"
    return phone


# -- end to end, under every session engine ---------------------------------------------


@pytest.fixture(params=ENGINES)
def engine(request, settings, tmp_path):
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    settings.SESSION_FILE_PATH = str(tmp_path)
    return request.param


def signed_in_by(flow: str, alice, desktop: Client, phone: Client, computer: Client) -> Client:
    """A browser that a real qrauth flow signed in as alice: her phone by a
    hand-off from her desktop, or a computer that her phone approved."""
    if flow == "handoff":
        hand_off(desktop, phone)
        return phone
    approve(computer, browser_of(alice))
    return computer


@pytest.mark.parametrize("flow", ["handoff", "approve"])
def test_a_device_signed_out_from_another_browser_is_signed_out_at_its_next_request(
    engine, flow, alice, desktop, phone, computer
):
    device = signed_in_by(flow, alice, desktop, phone, computer)
    assert home_says(device) == "home: alice"
    page = desktop.get(DEVICES)
    (listed,) = page.context["devices"]
    assert listed["flow"] == flow and not listed["current"]
    assert "Sign out this device" in page.content.decode()

    answer = desktop.post(reverse("qrauth_device_sign_out", args=[listed["id"]]), follow=True)
    assert "finds out at its next request" in answer.content.decode()
    assert answer.context["devices"] == []

    assert home_says(device) == "home: anonymous"
    assert signed_in_as(device) is None
    assert home_says(desktop) == "home: alice"  # the browser that signed it out stays


@pytest.fixture
def signed_cookies(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"


def test_a_copy_of_a_signed_cookie_taken_before_the_sign_out_is_signed_out(
    signed_cookies, settings, alices_phone, desktop
):
    """Under signed cookies the session lives in the browser alone: a copy
    of it is a valid session to Django for as long as the cookie lives."""
    copy = Client()
    name = settings.SESSION_COOKIE_NAME
    copy.cookies[name] = alices_phone.cookies[name].value
    assert home_says(copy) == "home: alice"
    desktop.post(sign_out_url(record_of(alices_phone)))
    assert home_says(alices_phone) == "home: anonymous"
    assert home_says(copy) == "home: anonymous"


def test_a_device_whose_record_was_deleted_is_signed_out(alices_phone):
    """Its user could not see it on the devices page, nor sign it out."""
    record_of(alices_phone).delete()
    assert home_says(alices_phone) == "home: anonymous"


# -- who may sign out what -------------------------------------------------------------


def test_another_users_device_cannot_be_signed_out(alices_phone, bob):
    record = record_of(alices_phone)
    response = browser_of(bob).post(sign_out_url(record))
    assert response.status_code == 404
    assert home_says(alices_phone) == "home: alice"
    assert SignIn.objects.get(pk=record.pk).signed_out_at is None


def test_a_get_to_a_sign_out_url_signs_nothing_out(alices_phone, desktop):
    for url in (sign_out_url(record_of(alices_phone)), OTHERS):
        assert desktop.get(url).status_code == 405
    assert home_says(alices_phone) == "home: alice"


def test_a_sign_out_without_the_csrf_token_is_refused(alices_phone, alice):
    """A page of another site that posts to the sign-out URLs with the
    user's cookies (a forged request)."""
    attacker = Client(enforce_csrf_checks=True)
    attacker.force_login(alice)
    assert attacker.post(sign_out_url(record_of(alices_phone))).status_code == 403
    assert attacker.post(OTHERS).status_code == 403
    assert home_says(alices_phone) == "home: alice"


def test_the_sign_out_buttons_carry_the_csrf_token_and_the_page_cannot_be_framed(
    settings, alices_phone, alice
):
    """Not framed (a click on a button under a decoy), nor cached, even on
    a site without XFrameOptionsMiddleware."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "XFrameOptions" not in m]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get(DEVICES)
    assert page["X-Frame-Options"] == "DENY" and "no-store" in page["Cache-Control"]
    token = page.context["csrf_token"]
    answer = browser.post(sign_out_url(record_of(alices_phone)), {"csrfmiddlewaretoken": token})
    assert answer.status_code == 302
    assert home_says(alices_phone) == "home: anonymous"


def test_the_devices_page_needs_a_signed_in_user():
    response = Client().get(DEVICES)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_malformed_or_unknown_id_answers_404(desktop):
    assert desktop.post(f"{DEVICES}not-a-uuid/sign-out/").status_code == 404
    unknown = reverse("qrauth_device_sign_out", args=[uuid.uuid4()])
    assert desktop.post(unknown).status_code == 404


# -- what the page lists ----------------------------------------------------------------


def test_the_page_lists_the_users_live_devices_only(clock, alices_phone, desktop, alice, bob):
    mine = record_of(alices_phone)
    later = signins.now() + timedelta(days=1)
    bobs = SignIn.objects.create(
        user=bob, flow="handoff", outcome="signed_in", at=signins.now(), expires=later
    )
    denied = SignIn.objects.create(
        user=alice, flow="approve", outcome="denied", at=signins.now(), expires=later
    )
    expired = SignIn.objects.create(
        user=alice,
        flow="handoff",
        outcome="signed_in",
        at=signins.now(),
        # Past its expiry, and past the lag the middleware allows it.
        expires=signins.now() - EXPIRY_SLACK - timedelta(seconds=1),
    )
    listed = [row["id"] for row in desktop.get(DEVICES).context["devices"]]
    assert listed == [str(mine.public_id)]
    assert {str(r.public_id) for r in (bobs, denied, expired)}.isdisjoint(listed)


def test_this_device_is_named_and_offers_no_button_of_its_own(alices_phone):
    page = alices_phone.get(DEVICES)
    (row,) = page.context["devices"]
    html = page.content.decode()
    assert row["current"] and "(this device)" in html
    assert "Sign out this device" not in html and "Sign out all others" not in html
    assert row["label"] == "Safari on iOS" and row["address"] == "127.0.0.0/24"


def test_each_button_is_described_by_its_device(alices_phone, desktop):
    html = desktop.get(DEVICES).content.decode()
    record = record_of(alices_phone)
    heading = f'id="qrauth-device-{record.public_id}"'
    assert heading in html
    assert f'aria-describedby="qrauth-device-{record.public_id}"' in html
    assert f'datetime="{record.at.isoformat()}"' in html


def test_the_page_names_the_phone_that_approved_a_computer(alice, computer, desktop):
    phone = Client(HTTP_USER_AGENT=phone_user_agent())
    phone.force_login(alice)
    approve(computer, phone)
    html = desktop.get(DEVICES).content.decode()
    assert "Chrome on Windows" in html and "approved on your phone (Safari on iOS)" in html


def phone_user_agent() -> str:
    return (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )


def test_an_empty_page_says_so(desktop):
    page = desktop.get(DEVICES)
    assert page.status_code == 200
    assert "No device that was signed in with a QR code is signed in now." in (
        page.content.decode()
    )


def test_the_page_is_off_while_sign_ins_are_not_recorded(settings, desktop):
    settings.AUTH_QR_CODE_RECORD_SIGNINS = False
    assert desktop.get(DEVICES).status_code == 404
    assert desktop.post(OTHERS).status_code == 404


# -- signing out all others ----------------------------------------------------------------


def test_sign_out_all_others_keeps_this_device(alice, desktop, computer, sent):
    phones = [Client(HTTP_USER_AGENT=phone_user_agent()) for _ in range(2)]
    for phone in phones:
        hand_off(desktop, phone)
    holding = phones[0]
    answer = holding.post(OTHERS, follow=True)
    assert "1 other device is signed out. It finds out at its next request" in (
        answer.content.decode()
    )
    assert home_says(holding) == "home: alice"
    assert home_says(phones[1]) == "home: anonymous"
    ended = [kwargs for name, _sender, kwargs in sent if name == "device_signed_out"]
    assert [kwargs["by"] for kwargs in ended] == ["all_others"]


def test_a_browser_signed_in_with_a_password_signs_out_every_qr_device(alices_phone, desktop):
    desktop.post(OTHERS)
    assert home_says(alices_phone) == "home: anonymous"
    assert home_says(desktop) == "home: alice"


def test_sign_out_all_others_with_none_says_so(alices_phone):
    answer = alices_phone.post(OTHERS, follow=True)
    assert "There was no other device to sign out." in answer.content.decode()


# -- how a record ends ------------------------------------------------------------------


def test_signing_out_sends_device_signed_out(alices_phone, desktop, alice, sent):
    record = record_of(alices_phone)
    desktop.post(sign_out_url(record))
    (kwargs,) = [kwargs for name, _sender, kwargs in sent if name == "device_signed_out"]
    assert kwargs["user"] == alice and kwargs["by"] == "another_device"
    assert kwargs["signin"].public_id == record.public_id
    assert kwargs["request"].user == alice


def test_signing_out_twice_says_it_was_signed_out_already(alices_phone, desktop):
    url = sign_out_url(record_of(alices_phone))
    desktop.post(url)
    answer = desktop.post(url, follow=True)
    assert "That device was already signed out." in answer.content.decode()


def test_logging_out_ends_the_record_by_the_device_itself(alices_phone, sent):
    record = record_of(alices_phone)
    alices_phone.post(reverse("logout"))
    record.refresh_from_db()
    assert record.signed_out_by == SignedOutBy.ITSELF and record.signed_out_at is not None
    assert [k["by"] for n, _s, k in sent if n == "device_signed_out"] == ["itself"]


def password_login(request):
    user = authenticate(request, **request.POST.dict())
    login(request, user)
    return HttpResponse(f"signed in as {user.get_username()}")


def change_password(request):
    request.user.set_password("new-password")
    request.user.save()
    update_session_auth_hash(request, request.user)
    return HttpResponse("changed")


def session_blind(request):
    return HttpResponse("the same for everyone")


urlpatterns = [
    path("login/", password_login),
    path("password/", change_password),
    path("blind/", session_blind),
    path("", include("tests.urls")),
]


@pytest.mark.urls(__name__)
def test_signing_in_as_someone_else_ends_the_record(alices_phone, bob):
    record = record_of(alices_phone)
    alices_phone.post("/login/", {"username": "bob", "password": "bob-password"})
    record.refresh_from_db()
    assert record.signed_out_by == SignedOutBy.SESSION_ENDED


@pytest.mark.urls(__name__)
def test_a_password_changed_elsewhere_ends_the_record_at_the_devices_next_request(
    alices_phone, desktop
):
    record = record_of(alices_phone)
    desktop.post("/password/")
    assert home_says(alices_phone) == "home: anonymous"  # Django's own session check
    record.refresh_from_db()
    assert record.signed_out_by == SignedOutBy.SESSION_ENDED
    assert [row["id"] for row in desktop.get(DEVICES).context["devices"]] == []


def test_a_new_sign_in_on_the_same_device_ends_the_one_before(alices_phone, desktop):
    before = record_of(alices_phone)
    hand_off(desktop, alices_phone)
    before.refresh_from_db()
    assert before.signed_out_by == SignedOutBy.SESSION_ENDED
    assert record_of(alices_phone).public_id != before.public_id


# -- a record's expiry follows its session --------------------------------------------------


def test_a_session_saved_at_every_request_keeps_its_device_on_the_page(
    settings, clock, alices_phone, desktop
):
    settings.SESSION_SAVE_EVERY_REQUEST = True
    settings.SESSION_COOKIE_AGE = 2 * 3600
    hand_off(desktop, alices_phone)  # a session of two hours
    record = record_of(alices_phone)
    clock.now += 90 * 60
    alices_phone.get("/")
    clock.now += 90 * 60  # past the expiry the sign-in had
    assert [row["id"] for row in desktop.get(DEVICES).context["devices"]] == [str(record.public_id)]


def test_the_expiry_is_written_at_most_once_an_hour(settings, clock, alices_phone):
    settings.SESSION_SAVE_EVERY_REQUEST = True
    first = record_of(alices_phone).expires
    clock.now += EXPIRY_SLACK.total_seconds() - 60
    with CaptureQueriesContext(connection) as queries:
        alices_phone.get("/")
    assert not [q for q in queries if q["sql"].startswith("UPDATE") and "qrauth" in q["sql"]]
    assert record_of(alices_phone).expires == first
    clock.now += 120
    alices_phone.get("/")
    assert record_of(alices_phone).expires == first + timedelta(
        seconds=EXPIRY_SLACK.total_seconds() + 60
    )


# -- what the middleware costs ---------------------------------------------------------------


def qrauth_queries(browser: Client, url: str = "/") -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        browser.get(url)
    return [q["sql"] for q in queries if "qrauth_signin" in q["sql"]]


def test_a_session_that_qrauth_did_not_sign_in_costs_no_record_query(desktop):
    assert qrauth_queries(desktop) == []
    assert qrauth_queries(Client()) == []


def test_a_session_that_qrauth_signed_in_costs_one_query(alices_phone):
    (query,) = qrauth_queries(alices_phone)
    assert query.startswith("SELECT")


@pytest.mark.urls(__name__)
def test_the_middleware_adds_no_vary_cookie_to_a_page_that_reads_no_session(alices_phone):
    response = alices_phone.get("/blind/")
    assert "Cookie" not in response.get("Vary", "")


@pytest.mark.django_db(transaction=True)  # the async request's thread has a connection of its own
async def test_the_middleware_works_for_an_async_request(alices_phone, async_client, desktop):
    """Under ASGI (event streams are async views) it runs as Django's own do."""
    from asgiref.sync import sync_to_async

    record = await sync_to_async(record_of)(alices_phone)
    await sync_to_async(desktop.post)(sign_out_url(record))
    cookie = alices_phone.cookies["sessionid"].value
    async_client.cookies["sessionid"] = cookie
    response = await async_client.get("/")
    assert response.content == b"home: anonymous"


# -- the steps the JSON API shares -------------------------------------------------------------


def request_of(browser: Client, user) -> object:
    """A request as the middleware hands it on, from ``browser``'s session."""
    request = RequestFactory().post("/")
    request.session = browser.session
    request.user = user
    SignedOutDevicesMiddleware(lambda r: HttpResponse()).process_request(request)
    return request


def test_describe_is_ready_for_json(alices_phone, alice):
    request = request_of(alices_phone, alice)
    (record,) = steps.linked_devices(request)
    described = steps.describe(record, request)
    assert json.loads(json.dumps(described)) == {
        "id": str(record.public_id),
        "device": "Safari on iOS",
        "flow": "handoff",
        "signed_in_at": record.at.isoformat(),
        "address": "127.0.0.0/24",
        "current": True,
    }


def test_the_steps_refuse_a_request_the_middleware_did_not_see(alice):
    request = RequestFactory().get("/")
    request.user = alice
    with pytest.raises(ImproperlyConfigured, match=MIDDLEWARE):
        steps.linked_devices(request)


def test_signing_out_this_very_device_logs_it_out_at_once(alices_phone, alice, sent):
    request = request_of(alices_phone, alice)
    record = record_of(alices_phone)
    assert steps.sign_out_device(request, str(record.public_id)) is True
    assert not request.user.is_authenticated
    record.refresh_from_db()
    assert record.signed_out_by == SignedOutBy.ITSELF
    assert [k["by"] for n, _s, k in sent if n == "device_signed_out"] == ["itself"]


def test_an_expired_device_is_not_signed_out_again(clock, alices_phone, desktop, alice):
    record = record_of(alices_phone)
    clock.now += 14 * 24 * 3600 + EXPIRY_SLACK.total_seconds() + 1  # past SESSION_COOKIE_AGE
    assert steps.sign_out_device(request_of(desktop, alice), record.public_id) is False


# -- the check ------------------------------------------------------------------------------------


def qrauth_ids() -> list[str]:
    return [message.id for message in run_checks(tags=["qrauth"])]


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(lambda m: [x for x in m if x != MIDDLEWARE], id="missing"),
        pytest.param(lambda m: [MIDDLEWARE, *[x for x in m if x != MIDDLEWARE]], id="too-early"),
    ],
)
def test_the_check_warns_while_the_middleware_cannot_sign_devices_out(settings, where):
    settings.MIDDLEWARE = where(settings.MIDDLEWARE)
    messages = run_checks(tags=["qrauth"])
    assert [m.id for m in messages] == ["qrauth.W004"]
    assert "AuthenticationMiddleware" in messages[0].hint


def test_the_check_is_silent_when_sign_ins_are_not_recorded(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    settings.AUTH_QR_CODE_RECORD_SIGNINS = False
    assert qrauth_ids() == []


def test_the_check_leaves_a_missing_authentication_middleware_to_e002(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != AUTHENTICATION]
    assert qrauth_ids() == ["qrauth.E002"]


def test_without_the_middleware_the_page_refuses_rather_than_promise(settings, desktop):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    with pytest.raises(ImproperlyConfigured, match="would stay signed in"):
        desktop.get(DEVICES)


# -- the new-device email ----------------------------------------------------------------


@pytest.fixture
def mailing(settings, alice):
    """Mail on, to ``mail.outbox``. Django 6.1 reads MAILERS (and warns
    without it); earlier versions ignore it and use the test environment's
    EMAIL_BACKEND, the same locmem backend."""
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.AUTH_QR_CODE_NEW_DEVICE_EMAIL = True
    alice.email = "alice@example.com"
    alice.save()


@pytest.fixture
def committed_hand_off(django_capture_on_commit_callbacks):
    """``hand_off``, and what runs once its sign-in is committed (the mail):
    the test's own transaction never is."""

    def hand_off_committed(desktop, phone):
        with django_capture_on_commit_callbacks(execute=True):
            return hand_off(desktop, phone)

    return hand_off_committed


@pytest.mark.usefixtures("mailing")
def test_a_new_device_is_mailed_to_its_user(desktop, phone, committed_hand_off):
    committed_hand_off(desktop, phone)
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "New sign-in to your account on Safari on iOS"
    assert "Safari on iOS" in message.body and "127.0.0.0/24" in message.body
    assert "http://testserver/qr/devices/" in message.body
    assert "&#" not in message.body and "&amp;" not in message.body  # plain text


@pytest.mark.usefixtures("mailing")
def test_the_email_link_uses_the_base_url(settings, desktop, phone, committed_hand_off):
    settings.AUTH_QR_CODE_BASE_URL = "https://login.example"
    committed_hand_off(desktop, phone)
    assert "https://login.example/qr/devices/" in mail.outbox[0].body


def test_no_email_unless_asked_for(alice, desktop, phone, committed_hand_off):
    alice.email = "alice@example.com"
    alice.save()
    committed_hand_off(desktop, phone)
    assert mail.outbox == []


@pytest.mark.usefixtures("mailing")
def test_a_user_without_an_email_address_gets_none(alice, desktop, phone, committed_hand_off):
    alice.email = ""
    alice.save()
    committed_hand_off(desktop, phone)
    assert mail.outbox == []


def refuse(self, messages):
    raise ConnectionRefusedError("no mail server")


@pytest.mark.usefixtures("mailing")
def test_a_mail_that_fails_is_logged_and_the_sign_in_stands(
    monkeypatch, desktop, phone, caplog, committed_hand_off
):
    monkeypatch.setattr(locmem.EmailBackend, "send_messages", refuse)
    with caplog.at_level(logging.WARNING, logger="qrauth.notices"):
        committed_hand_off(desktop, phone)
    assert signed_in_as(phone) == "alice"
    assert "no new-device email for sign-in" in caplog.text


def test_an_active_device_with_a_short_session_stays_listed_and_can_be_signed_out(
    settings, clock, alice, desktop, phone
):
    """A site with a 30-minute idle timeout (SESSION_COOKIE_AGE = 1800,
    saved at every request): the record's expiry may lag its session's by
    up to EXPIRY_SLACK (an hour), longer than the session's whole life."""
    settings.SESSION_SAVE_EVERY_REQUEST = True
    settings.SESSION_COOKIE_AGE = 1800
    hand_off(desktop, phone)
    assert signed_in_as(phone) == "alice"
    for _ in range(8):  # in use every five minutes, for forty minutes
        clock.now += 300
        phone.get("/")
    assert signed_in_as(phone) == "alice"  # its session lives on, saved each time
    listed = desktop.get(DEVICES).context["devices"]
    assert len(listed) == 1, "the phone is signed in, but not on the devices page"
    desktop.post(reverse("qrauth_device_sign_out", args=[listed[0]["id"]]))
    phone.get("/")
    assert signed_in_as(phone) is None
