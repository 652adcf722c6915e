"""Sign-ins on record: what a record keeps of a sign-in, a denial and a
refusal, what it never keeps (a session key), what recording costs, what
happens without its table, how old records go, and the admin."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse

from qrauth import claims, signals, signins
from qrauth.admin import SignInAdmin
from qrauth.models import SignIn
from qrauth.qr import render_png

from .helpers import (
    IPHONE_SAFARI,
    WINDOWS_CHROME,
    browser_of,
    collect,
    decode_png,
    open_signin,
    scan,
    signed_in_as,
    status,
)
from .journeys import approve, hand_off

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]


@pytest.fixture
def computer():
    """A browser that is not signed in, on a desktop at 203.0.113.7."""
    return Client(HTTP_USER_AGENT=WINDOWS_CHROME, REMOTE_ADDR="203.0.113.7")


@pytest.fixture
def bobs_phone(bob):
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI, REMOTE_ADDR="198.51.100.20")
    phone.force_login(bob)
    return phone


def claimer_of(browser: Client) -> str:
    """The claimer digest of ``browser``'s session, as an order keeps it."""
    request = RequestFactory().get("/")
    request.session = browser.session
    return claims.existing_claimer_digest(request)


def scanned(computer: Client, phone: Client) -> tuple[str, str]:
    """``computer`` shows an approve code and ``phone`` opens its frame:
    (auth_code, scan path)."""
    auth_code = open_signin(computer)
    frame = urlsplit(decode_png(render_png(status(computer, auth_code)["frame"]))).path
    phone.get(frame, follow=True)
    return auth_code, frame


def answer(phone: Client, frame: str, action: str, number: str = "") -> None:
    assert phone.post(frame, {"action": action, "number": number}).status_code == 200


def only_record() -> SignIn:
    (record,) = SignIn.objects.all()
    return record


# -- a sign-in ------------------------------------------------------------------------------


def test_a_hand_off_records_the_phone_it_signed_in(clock, desktop, phone, alice):
    hand_off(desktop, phone)
    record = only_record()
    assert (record.user, record.flow, record.outcome) == (alice, "handoff", "signed_in")
    assert (record.device, record.address) == ("Safari on iOS", "127.0.0.0/24")
    assert (record.approver, record.approver_device, record.reason) == ("", "", "")
    assert record.at == signins.now()
    assert record.expires == signins.now() + timedelta(days=14)  # SESSION_COOKIE_AGE
    assert record.signed_out_at is None
    assert phone.session[signins.MARKER] == str(record.public_id)


def test_an_approval_records_the_computer_and_the_phone_that_approved(computer, bobs_phone, bob):
    approve(computer, bobs_phone)
    record = only_record()
    assert (record.user, record.flow, record.outcome) == (bob, "approve", "signed_in")
    assert (record.device, record.address) == ("Chrome on Windows", "203.0.113.0/24")
    assert record.approver == claimer_of(bobs_phone) and record.approver
    assert record.approver_device == "Safari on iOS"
    assert signins.MARKER not in bobs_phone.session  # the phone was not signed in


def test_signed_in_carries_the_record(desktop, phone, sent):
    hand_off(desktop, phone)
    (kwargs,) = [kwargs for name, _sender, kwargs in sent if name == "signed_in"]
    assert kwargs["signin"] == only_record()


@pytest.fixture(params=["db", "cache", "signed_cookies"])
def engine(request, settings):
    """The session engine, set before any browser of the test signs in."""
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"


def test_no_record_holds_a_session_key(settings, engine, desktop, phone, computer, bobs_phone):
    hand_off(desktop, phone)
    approve(computer, bobs_phone)
    secrets = {
        browser.cookies[settings.SESSION_COOKIE_NAME].value
        for browser in (desktop, phone, computer, bobs_phone)
    }
    secrets.add(bobs_phone.session["qrauth_claimer"])  # the approving session's own secret
    kept = " ".join(
        str(value) for row in SignIn.objects.values_list() for value in row if value is not None
    )
    assert len(SignIn.objects.all()) == 2
    assert [secret for secret in secrets if secret in kept] == []


# -- denials and refusals ---------------------------------------------------------------------


def test_a_denial_is_recorded_with_the_phone_that_denied(computer, bobs_phone, bob):
    _auth_code, frame = scanned(computer, bobs_phone)
    answer(bobs_phone, frame, "deny")
    record = only_record()
    assert (record.user, record.flow, record.outcome) == (bob, "approve", "denied")
    assert record.approver == claimer_of(bobs_phone)
    assert record.approver_device == "Safari on iOS"
    assert (record.expires, record.signed_out_at) == (None, None)


def test_a_wrong_number_is_recorded_as_such(computer, bobs_phone):
    auth_code, frame = scanned(computer, bobs_phone)
    right = status(computer, auth_code)["number"]
    answer(bobs_phone, frame, "approve", "10" if right != "10" else "11")
    assert only_record().outcome == "wrong_number"


def test_a_denial_records_the_screen_that_asked(computer, bobs_phone):
    _auth_code, frame = scanned(computer, bobs_phone)
    answer(bobs_phone, frame, "deny")
    assert (only_record().device, only_record().address) == ("Chrome on Windows", "203.0.113.0/24")


def test_a_denial_keeps_the_requester_a_sender_names(bob):
    request = RequestFactory().post("/")
    request.session = Client().session
    signals.denied.send(
        sender="approve",
        request=request,
        user=bob,
        order_ref="ref",
        device="Safari on iOS",
        reason="denied",
        requester="Chrome on Windows",
        requester_ip="203.0.113.7",
    )
    record = only_record()
    assert (record.device, record.address) == ("Chrome on Windows", "203.0.113.0/24")


def test_a_desktop_denying_a_phone_is_recorded(settings, desktop, phone, alice):
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    auth_code = desktop.get(reverse("qr_code_page")).context["auth_code"]
    frame = urlsplit(status(desktop, auth_code)["frame"]).path
    phone.get(frame)
    assert phone.post(frame).status_code == 200  # waits for the desktop
    desktop.post(reverse("qrauth_handoff_decide", args=[auth_code]), {"action": "deny"})
    record = only_record()
    assert (record.user, record.flow, record.outcome) == (alice, "handoff", "denied")
    assert record.approver == ""  # a hand-off has no approving phone
    assert record.device == "Safari on iOS"  # the phone that asked


def test_a_refused_collect_is_recorded_with_its_reason(computer, bobs_phone, bob):
    auth_code, frame = scanned(computer, bobs_phone)
    answer(bobs_phone, frame, "approve", status(computer, auth_code)["number"])
    bob.set_password("new-password")
    bob.save()
    assert collect(computer, auth_code, confirm="account").status_code == 403
    record = only_record()
    assert (record.user, record.outcome, record.reason) == (bob, "refused", "password_changed")
    assert (record.device, record.address) == ("Chrome on Windows", "203.0.113.0/24")
    assert record.approver == claimer_of(bobs_phone)
    assert record.approver_device == "Safari on iOS"
    assert record.expires is None and signins.MARKER not in computer.session


def test_a_hand_off_refused_at_continue_is_recorded(desktop, phone, alice):
    path = scan(desktop)
    phone.get(path, follow=True)  # the question, while the account was as it was
    alice.set_password("new-password")
    alice.save()
    phone.post(path)
    record = only_record()
    assert (record.user, record.outcome, record.reason) == (alice, "refused", "password_changed")
    assert record.device == "Safari on iOS"


def test_a_refusal_on_the_question_page_is_no_sign_in_and_not_recorded(desktop, phone, alice):
    path = scan(desktop)
    alice.set_password("new-password")
    alice.save()
    phone.get(path, follow=True)  # refused with the same reason, as a look
    assert SignIn.objects.count() == 0


def test_a_refusal_without_a_user_is_not_recorded(computer, bobs_phone, bob):
    auth_code, frame = scanned(computer, bobs_phone)
    answer(bobs_phone, frame, "approve", status(computer, auth_code)["number"])
    bob.delete()
    collect(computer, auth_code, confirm="account")
    assert SignIn.objects.count() == 0


def test_a_code_that_does_not_work_is_not_recorded(phone):
    phone.post(reverse("qr_code_login", args=["not-a-token"]))
    assert SignIn.objects.count() == 0


def test_nothing_is_recorded_while_recording_is_off(settings, desktop, phone, computer, bobs_phone):
    settings.AUTH_QR_CODE_RECORD_SIGNINS = False
    hand_off(desktop, phone)
    _auth_code, frame = scanned(computer, bobs_phone)
    answer(bobs_phone, frame, "deny")
    assert signed_in_as(phone) == "alice"
    assert SignIn.objects.count() == 0 and signins.MARKER not in phone.session


# -- the address ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "address", "kept"),
    [
        ("network", "203.0.113.77", "203.0.113.0/24"),
        ("network", "2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("network", "::ffff:192.0.2.9", "192.0.2.0/24"),  # IPv4 through a dual-stack socket
        ("network", "not an address", ""),
        ("network", "", ""),
        ("full", "203.0.113.77", "203.0.113.77"),
        ("full", "2001:db8:1234:5678::1", "2001:db8:1234:5678::1"),
        ("none", "203.0.113.77", ""),
    ],
)
def test_the_address_is_kept_as_the_setting_says(settings, mode, address, kept):
    settings.AUTH_QR_CODE_RECORD_ADDRESS = mode
    assert signins.recorded_address(address) == kept


def test_the_default_keeps_the_network_only(desktop):
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI, REMOTE_ADDR="198.51.100.77")
    hand_off(desktop, phone)
    assert only_record().address == "198.51.100.0/24"


# -- what recording costs --------------------------------------------------------------------


def sign_in_queries(desktop: Client) -> list[str]:
    """The queries of a phone's Continue (a hand-off)."""
    path = scan(desktop)
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI)
    phone.get(path, follow=True)
    with CaptureQueriesContext(connection) as queries:
        phone.post(path)
    assert signed_in_as(phone) == "alice"
    statements = [query["sql"] for query in queries]
    return [sql for sql in statements if not sql.startswith(_TRANSACTION_CONTROL)]


_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN")


def test_recording_a_sign_in_is_one_insert(settings, desktop):
    settings.AUTH_QR_CODE_RECORD_SIGNINS = False
    without = sign_in_queries(desktop)
    settings.AUTH_QR_CODE_RECORD_SIGNINS = True
    recorded = sign_in_queries(desktop)
    assert len(recorded) == len(without) + 1
    (ours,) = [sql for sql in recorded if "qrauth_signin" in sql]
    assert ours.startswith("INSERT")


def test_the_record_is_the_first_write_of_the_sign_in(desktop):
    """Its transaction then holds SQLite's write lock from its first
    statement, and waits its turn for it instead of failing to upgrade a
    read while another request writes."""
    writes = [sql for sql in sign_in_queries(desktop) if not sql.startswith("SELECT")]
    assert writes[0].startswith('INSERT INTO "qrauth_signin"'), writes


def test_a_poll_writes_no_record(desktop, phone, computer):
    hand_off(desktop, phone)
    polls = [(computer, open_signin(computer))]
    code = phone.get(reverse("qr_code_page")).context["auth_code"]  # the phone shows one too
    polls.append((phone, code))
    for browser, auth_code in polls:
        with CaptureQueriesContext(connection) as queries:
            status(browser, auth_code)
        ours = [q["sql"] for q in queries if "qrauth_signin" in q["sql"]]
        assert [sql.split()[0] for sql in ours] == (["SELECT"] if browser is phone else [])


# -- without its table ------------------------------------------------------------------------


@pytest.fixture
def no_table(django_db_blocker):
    """The table of the records is missing: a site that did not migrate."""
    with connection.schema_editor() as editor:
        editor.delete_model(SignIn)
    yield
    with connection.schema_editor() as editor:
        editor.create_model(SignIn)


@pytest.mark.django_db(transaction=True)  # a table dropped and made again
def test_without_its_table_a_sign_in_fails_and_the_log_says_why(no_table, desktop, caplog):
    path = scan(desktop)
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI)
    phone.get(path, follow=True)
    with caplog.at_level(logging.ERROR, logger="qrauth.signins"):
        with pytest.raises(DatabaseError):
            phone.post(path)
    assert "not signed in: no record" in caplog.text and "manage.py migrate" in caplog.text
    assert phone.get("/").content == b"home: anonymous"


@pytest.mark.django_db(transaction=True)
def test_without_its_table_a_denial_still_answers(no_table, bob, caplog):
    computer = Client(HTTP_USER_AGENT=WINDOWS_CHROME)
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI)
    phone.force_login(bob)
    _auth_code, frame = scanned(computer, phone)
    with caplog.at_level(logging.ERROR, logger="qrauth.signins"):
        answer(phone, frame, "deny")
    assert "a denied was not recorded" in caplog.text


# -- retention ---------------------------------------------------------------------------------


def make(user, days_ago: float, outcome: str = "signed_in", **fields) -> SignIn:
    at = signins.now() - timedelta(days=days_ago)
    return SignIn.objects.create(user=user, flow="handoff", outcome=outcome, at=at, **fields)


def days_from_now(days: float):
    return signins.now() + timedelta(days=days)


@pytest.fixture
def records(clock, alice):
    """Records of every age, by name: which go after 90 days and which stay."""
    return {
        "old denial": (make(alice, 91, "denied"), False),
        "recent denial": (make(alice, 89, "denied"), True),
        "signed out long ago": (
            make(alice, 200, signed_out_at=days_from_now(-91), expires=days_from_now(100)),
            False,
        ),
        "signed out lately": (
            make(alice, 200, signed_out_at=days_from_now(-10), expires=days_from_now(100)),
            True,
        ),
        "expired long ago": (make(alice, 120, expires=days_from_now(-91)), False),
        "old and still signed in": (make(alice, 400, expires=days_from_now(1)), True),
    }


def prune(*args) -> str:
    out = StringIO()
    call_command("qrauth_prune_signins", *args, stdout=out)
    return out.getvalue()


def test_pruning_deletes_old_records_but_never_a_device_still_signed_in(records):
    assert prune() == "Deleted 3 sign-in records older than 90 days.\n"
    kept = set(SignIn.objects.values_list("pk", flat=True))
    assert {name for name, (record, stays) in records.items() if record.pk in kept} == {
        name for name, (_record, stays) in records.items() if stays
    }


def test_a_dry_run_counts_and_deletes_nothing(records):
    assert prune("--dry-run") == "3 sign-in records older than 90 days would be deleted.\n"
    assert SignIn.objects.count() == len(records)


def test_the_retention_is_a_setting(settings, records):
    settings.AUTH_QR_CODE_RECORD_RETENTION = 30
    assert prune() == "Deleted 4 sign-in records older than 30 days.\n"  # and the recent denial


def test_no_retention_keeps_every_record(settings, records):
    settings.AUTH_QR_CODE_RECORD_RETENTION = None
    assert "every record is kept" in prune()
    assert SignIn.objects.count() == len(records)


def test_a_device_kept_signed_in_for_longer_than_the_retention_stays_listed(
    settings, clock, desktop, phone
):
    settings.SESSION_SAVE_EVERY_REQUEST = True
    hand_off(desktop, phone)
    for _day in range(100):
        clock.now += 24 * 3600
        phone.get("/")
    prune()
    assert [row["id"] for row in desktop.get(reverse("qrauth_devices")).context["devices"]] == [
        phone.session[signins.MARKER]
    ]


# -- the admin ---------------------------------------------------------------------------------

# A site of its own: other tests install apps for a while (sites), whose
# models stay registered on the default site after them.
site = admin.AdminSite(name="signins_admin")
site.register(SignIn, SignInAdmin)
urlpatterns = [path("admin/", site.urls), path("", include("tests.urls"))]
CHANGELIST = "/admin/qrauth/signin/"


@pytest.fixture
def staff(db):
    return browser_of(get_user_model().objects.create_superuser("root", password="root-password"))


@pytest.fixture
def two_records(clock, alice, bob):
    make(alice, 1, expires=days_from_now(1))
    make(bob, 2, "denied")


@pytest.mark.urls(__name__)
def test_staff_list_search_and_filter_the_records(staff, two_records):
    def listed(**query) -> list[str]:
        page = staff.get(CHANGELIST, query)
        assert page.status_code == 200
        return sorted(record.user.username for record in page.context["cl"].result_list)

    assert listed() == ["alice", "bob"]
    assert listed(q="bob") == ["bob"]
    assert listed(outcome="denied") == ["bob"]
    assert listed(flow="approve") == []
    assert listed(signed_out="no") == ["alice", "bob"]
    assert listed(signed_out="yes") == []


@pytest.mark.urls(__name__)
def test_nobody_adds_changes_or_deletes_a_record_in_the_admin(staff, two_records):
    record = SignIn.objects.get(user__username="alice")
    change = f"{CHANGELIST}{record.pk}/change/"
    assert staff.get(f"{CHANGELIST}add/").status_code == 403
    assert staff.get(f"{CHANGELIST}{record.pk}/delete/").status_code == 403
    page = staff.get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert staff.post(change, {"device": "edited"}).status_code == 403
    action = {"action": "delete_selected", "_selected_action": [record.pk]}
    staff.post(CHANGELIST, action)
    assert SignIn.objects.get(pk=record.pk).device == ""


@pytest.mark.urls(__name__)
def test_a_user_who_is_not_staff_sees_no_record(alice, two_records):
    assert browser_of(alice).get(CHANGELIST).status_code == 302  # to the admin's login


# -- migrations ------------------------------------------------------------


def test_the_migrations_match_the_models():
    call_command("makemigrations", "qrauth", "--check", "--dry-run", verbosity=0)
