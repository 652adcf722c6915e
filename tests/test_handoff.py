"""The hand-off flow end to end: desktop shows a QR code, a phone signs in."""

from __future__ import annotations

from urllib.parse import urlsplit

import django
import pytest
import redis
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.signals import user_logged_in
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import reverse

from qrauth import store, tokens

from .helpers import decode_png, open_qr_page, scan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis")]

INVALID = reverse("invalid_auth_code")
CONTINUE = reverse("qrauth_continue")


def signed_in_as(client: Client) -> str | None:
    user_id = client.session.get(SESSION_KEY)
    if user_id is None:
        return None
    return get_user_model().objects.get(pk=user_id).get_username()


# -- the QR page and its image ---------------------------------------------------


def test_qr_page_requires_login(client):
    response = client.get(reverse("qr_code_page"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/qr/")


def test_qr_page_renders_the_image_of_its_order(desktop):
    response = desktop.get(reverse("qr_code_page"))
    auth_code = response.context["auth_code"]
    assert reverse("auth_qr_code", args=[auth_code]) in response.content.decode()


def test_image_is_an_opaque_png_of_the_absolute_scan_url(desktop):
    auth_code = open_qr_page(desktop)
    response = desktop.get(reverse("auth_qr_code", args=[auth_code]))
    assert response["Content-Type"] == "image/png"
    url = decode_png(response.content)
    assert url.startswith("http://testserver/qr/")
    assert auth_code not in urlsplit(url).path.split(".")[1]  # the code is not the handle


def test_image_as_svg(desktop):
    auth_code = open_qr_page(desktop)
    response = desktop.get(reverse("auth_qr_code", args=[auth_code]), {"format": "svg"})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")


def test_image_rejects_an_unknown_format(desktop):
    auth_code = open_qr_page(desktop)
    response = desktop.get(reverse("auth_qr_code", args=[auth_code]), {"format": "gif"})
    assert response.status_code == 400


@pytest.mark.parametrize("who", ["anonymous", "same user, other browser", "other user"])
def test_image_is_404_for_anyone_but_the_issuing_browser(desktop, alice, who):
    auth_code = open_qr_page(desktop)
    other = Client()
    if who == "same user, other browser":
        other.force_login(alice)
    elif who == "other user":
        other.force_login(get_user_model().objects.create_user("mallory"))
    assert other.get(reverse("auth_qr_code", args=[auth_code])).status_code == 404


def test_image_loads_the_session_only(desktop, django_assert_num_queries):
    auth_code = open_qr_page(desktop)
    # Not the user: the binding decides, as for the status poll, and the
    # user is checked where the code is used.
    with django_assert_num_queries(1):
        assert desktop.get(reverse("auth_qr_code", args=[auth_code])).status_code == 200


class SignedInByHeaderMiddleware:
    """A site's own sign-in that sets request.user on each request and
    keeps nothing of it in the session (a header from its proxy, say)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.headers.get("X-Signed-In-As")
        if name:
            request.user = get_user_model().objects.get(username=name)
        return self.get_response(request)


def test_image_on_a_site_that_signs_in_without_the_session(desktop, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.SignedInByHeaderMiddleware"]
    auth_code = open_qr_page(desktop)
    session = desktop.session
    del session[SESSION_KEY]  # the binding stays: signed in by the header alone
    session.save()
    image = reverse("auth_qr_code", args=[auth_code])
    assert desktop.get(image).status_code == 404  # nobody signed in
    assert desktop.get(image, HTTP_X_SIGNED_IN_AS="alice").status_code == 200


def test_image_of_a_replaced_order_is_404(desktop):
    first = open_qr_page(desktop)
    open_qr_page(desktop)
    assert desktop.get(reverse("auth_qr_code", args=[first])).status_code == 404


@pytest.mark.parametrize("name", ["qr_code_page", "image", "scan", "confirm"])
def test_protective_headers(desktop, phone, name):
    if name == "qr_code_page":
        response = desktop.get(reverse("qr_code_page"))
    elif name == "image":
        response = desktop.get(reverse("auth_qr_code", args=[open_qr_page(desktop)]))
    elif name == "scan":
        response = phone.get(scan(desktop))
    else:
        response = phone.get(scan(desktop), follow=True)
        assert "qrauth/confirm.html" in [t.name for t in response.templates]
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "strict-origin"


# -- scanning: GET and HEAD never sign in ---------------------------------------


def test_get_asks_and_does_not_sign_in(desktop, phone):
    path = scan(desktop)
    response = phone.get(path)
    assert response["Location"] == CONTINUE  # the page, without the token in its URL
    assert signed_in_as(phone) is None
    response = phone.get(CONTINUE)
    assert response.status_code == 200
    assert "Sign in as alice on this device?" in response.content.decode()
    assert 'method="post"' in response.content.decode()
    assert signed_in_as(phone) is None


def test_repeated_get_and_head_leave_the_code_usable(desktop, phone):
    path = scan(desktop)
    prefetcher = Client()
    for _ in range(3):
        assert prefetcher.get(path, follow=True).status_code == 200
        assert prefetcher.head(path)["Location"] == CONTINUE
        assert prefetcher.head(CONTINUE).status_code == 200
    response = phone.post(path)
    assert response.status_code == 302
    assert signed_in_as(phone) == "alice"


def test_get_records_the_scanning_device_and_head_records_nothing(desktop, phone):
    path = scan(desktop)
    order_id = tokens.parse_scan_token(path.strip("/").split("/")[-1]).order_id
    phone.head(path)
    assert store.peek_order(order_id).state_name == "pending"
    phone.get(path)
    order = store.peek_order(order_id)
    assert order.state_name == "scanned"
    assert order.device == "Safari on iOS"


def test_post_signs_in_once_with_a_new_session(desktop, phone):
    path = scan(desktop)
    session = phone.session  # the phone arrives with a session of its own
    session["visited"] = True
    session.save()
    phone.get(path)
    before = phone.cookies["sessionid"].value
    logins = []
    user_logged_in.connect(lambda **kw: logins.append(kw["user"]), weak=False, dispatch_uid="t")
    try:
        response = phone.post(path)
    finally:
        user_logged_in.disconnect(dispatch_uid="t")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert [user.username for user in logins] == ["alice"]
    assert phone.cookies["sessionid"].value != before
    assert phone.session["_auth_user_backend"] == "qrauth.backends.QRAuthBackend"
    again = Client().post(path)
    assert again["Location"] == INVALID


def test_a_static_code_gives_the_scanning_phone_no_session(desktop, phone, clock):
    # A static code works for its order's life; the scan rides in a signed
    # cookie, and a GET that wrote a session for it would cost every scan a
    # database write for nothing.
    path = scan(desktop)
    assert phone.get(path, follow=True).status_code == 200
    assert "sessionid" not in phone.cookies
    clock.now += 120  # long after any frame's tolerance; the order still lives
    assert phone.post(path)["Location"] == "/"
    assert signed_in_as(phone) == "alice"


def test_the_phone_is_told_it_is_signed_in(desktop, phone):
    response = phone.post(scan(desktop))
    told = [str(m) for m in get_messages(response.wsgi_request)]
    assert told == ["You are now signed in on this device."]


def test_the_phone_can_decline_and_that_cancels_the_code(desktop, phone, sent):
    path = scan(desktop)
    page = phone.get(path, follow=True).content.decode()
    assert 'name="action" value="decline"' in page
    response = phone.post(path, {"action": "decline"})
    assert response["Location"] == "/"
    told = [str(m) for m in get_messages(response.wsgi_request)]
    assert told == ["Nobody was signed in, and the code no longer works."]
    assert signed_in_as(phone) is None
    assert Client().post(path)["Location"] == INVALID
    assert [kw["reason"] for name, _, kw in sent if name == "rejected"][:1] == ["declined"]


@pytest.mark.parametrize(
    ("seconds", "text"), [(300, "for 5 minutes."), (60, "for 1 minute."), (90, "for 90 seconds.")]
)
def test_the_page_says_how_long_the_code_works(desktop, settings, seconds, text):
    settings.AUTH_QR_CODE_EXPIRATION_TIME = seconds
    assert text in desktop.get(reverse("qr_code_page")).content.decode()


def test_post_needs_csrf(desktop):
    path = scan(desktop)
    strict_phone = Client(enforce_csrf_checks=True)
    assert strict_phone.post(path).status_code == 403
    assert signed_in_as(strict_phone) is None
    page = strict_phone.get(path, follow=True)
    token = page.context["csrf_token"]
    response = strict_phone.post(path, {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302
    assert signed_in_as(strict_phone) == "alice"


def browser_form_post_headers(page: HttpResponse, page_url: str) -> dict[str, str]:
    """The Origin and Referer a browser sends when the page's own form POSTs
    to its own origin, under the page's Referrer-Policy (Fetch standard)."""
    policy = page["Referrer-Policy"]
    if policy == "no-referrer":
        return {"HTTP_ORIGIN": "null"}
    if policy == "same-origin":
        return {"HTTP_ORIGIN": "https://testserver", "HTTP_REFERER": page_url}
    if policy == "strict-origin":
        return {"HTTP_ORIGIN": "https://testserver", "HTTP_REFERER": "https://testserver/"}
    raise AssertionError(f"teach this helper the Referrer-Policy {policy!r}")


def test_the_continue_button_passes_csrf_as_a_browser_sends_it(desktop):
    """Over HTTPS Django checks Origin (or else Referer): a policy that
    blanks them on the page's own form, like "no-referrer", breaks sign-in."""
    path = scan(desktop)
    phone = Client(enforce_csrf_checks=True)
    assert phone.get(path, secure=True)["Location"] == CONTINUE
    page = phone.get(CONTINUE, secure=True)
    token = str(page.context["csrf_token"])
    headers = browser_form_post_headers(page, f"https://testserver{CONTINUE}")
    # The page's form posts to its own URL.
    response = phone.post(CONTINUE, {"csrfmiddlewaretoken": token}, secure=True, **headers)
    assert response.status_code == 302
    assert signed_in_as(phone) == "alice"


@pytest.mark.parametrize("method", ["put", "delete", "patch", "options"])
def test_other_methods_are_refused(desktop, phone, method):
    path = scan(desktop)
    assert getattr(phone, method)(path).status_code == 405
    assert phone.post(path).status_code == 302
    assert signed_in_as(phone) == "alice"


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site"])
def test_a_link_from_elsewhere_shows_a_button_not_a_code(desktop, qr_redis, fetch_site):
    response = desktop.get(reverse("qr_code_page"), HTTP_SEC_FETCH_SITE=fetch_site)
    assert "qrauth/show_code.html" in [t.name for t in response.templates]
    assert f'href="{reverse("qr_code_page")}"' in response.content.decode()
    assert list(qr_redis.scan_iter()) == []  # no order was issued


@pytest.mark.parametrize("fetch_site", ["same-origin", "none"])
def test_own_links_and_typed_urls_show_the_code(desktop, fetch_site):
    response = desktop.get(reverse("qr_code_page"), HTTP_SEC_FETCH_SITE=fetch_site)
    assert "auth_code" in response.context


def test_the_scan_post_needs_csrf_even_without_the_middleware(desktop, settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "Csrf" not in m]
    path = scan(desktop)
    strict_phone = Client(enforce_csrf_checks=True)
    assert strict_phone.post(path).status_code == 403
    assert signed_in_as(strict_phone) is None


class GreedyBackend:
    """A site backend listed first that answers for any credentials."""

    def authenticate(self, request, **credentials):
        return get_user_model().objects.get_or_create(username="mallory")[0]

    def get_user(self, user_id):
        return get_user_model().objects.filter(pk=user_id).first()


def test_only_the_orders_user_from_our_backend_is_signed_in(desktop, phone, settings):
    path = scan(desktop)
    settings.AUTHENTICATION_BACKENDS = [
        f"{__name__}.GreedyBackend",
        *settings.AUTHENTICATION_BACKENDS,
    ]
    assert phone.post(path)["Location"] == INVALID
    assert signed_in_as(phone) is None


@pytest.mark.skipif(django.VERSION < (5, 1), reason="LoginRequiredMiddleware is Django 5.1+")
def test_the_phone_gets_through_login_required_middleware(desktop, phone, settings):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    path = scan(desktop)
    assert phone.get(path, follow=True).status_code == 200
    assert phone.post(path)["Location"] == "/"
    assert phone.get(INVALID).status_code == 200


def test_an_oversized_host_is_a_bad_request(desktop, settings):
    settings.ALLOWED_HOSTS = ["*"]
    auth_code = open_qr_page(desktop)
    response = desktop.get(reverse("auth_qr_code", args=[auth_code]), HTTP_HOST="h" * 3000)
    assert response.status_code == 400


@override_settings(AUTH_QR_CODE_REDIRECT_URL="/welcome/")
def test_redirect_url_setting(desktop, phone):
    assert phone.post(scan(desktop))["Location"] == "/welcome/"


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/account/", "/account/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("dashboard", "dashboard"),  # a relative URL, not a URL name to reverse
    ],
)
def test_next_is_followed_only_on_this_site(desktop, phone, next_url, expected):
    path = scan(desktop)
    page = phone.get(path, {"next": next_url}, follow=True)
    if expected != "/":
        assert f'name="next" value="{next_url}"' in page.content.decode()
    else:
        assert 'name="next"' not in page.content.decode()
    assert phone.post(path, {"next": next_url})["Location"] == expected


# -- codes that no longer work -----------------------------------------------------


@pytest.mark.parametrize(
    "token",
    ["nonsense", "x" * 22 + "." + "y" * 22, "é" * 30, "a" * 2000, "..", "a.b.c"],
)
def test_unknown_codes_redirect_to_the_invalid_page(phone, token):
    for method in (phone.get, phone.head, phone.post):
        response = method(reverse("qr_code_login", args=[token]))
        assert response.status_code == 302
        assert response["Location"] == INVALID


def test_invalid_page_renders_the_template(phone):
    response = phone.get(INVALID)
    assert response.status_code == 200
    assert "qrauth/invalid_code.html" in [t.name for t in response.templates]
    assert 'href="/accounts/login/">Sign in with your password</a>' in response.content.decode()


def test_a_tampered_code_is_refused_without_reading_the_order(
    desktop, phone, round_trips, qr_redis
):
    path = scan(desktop)
    order_id, code = path.strip("/").split("/")[-1].split(".")
    forged = f"{order_id}.{code[:-1]}{'A' if code[-1] != 'A' else 'B'}"
    before = qr_redis.hgetall(store.order_key(order_id))
    round_trips.count = 0
    assert phone.get(reverse("qr_code_login", args=[forged]))["Location"] == INVALID
    assert phone.post(reverse("qr_code_login", args=[forged]))["Location"] == INVALID
    # The MAC fails before Redis is asked; the one round trip each is the
    # count of the network's failures (AUTH_QR_CODE_SCAN_FAILURES_PER_IP).
    assert round_trips.count == 2
    assert qr_redis.hgetall(store.order_key(order_id)) == before


def test_round_trips_per_request(desktop, phone, round_trips):
    for _ in range(2):  # a whole sign-in, twice, loads every script into Redis
        path = scan(desktop)
        Client().get(path)
        Client().post(path)
    round_trips.count = 0
    auth_code = open_qr_page(desktop)
    # Cancel the previous order, count the rate limits, issue: one pipeline.
    assert round_trips.count == 1
    round_trips.count = 0
    desktop.get(reverse("auth_qr_code", args=[auth_code]))
    assert round_trips.count == 1
    path = reverse("qr_code_login", args=[tokens.scan_token(auth_code)])
    for method, expected in ((phone.get, 1), (phone.head, 1), (phone.post, 1)):
        round_trips.count = 0
        method(path)
        assert round_trips.count == expected
    phone.get(scan(desktop))
    round_trips.count = 0
    assert phone.get(CONTINUE).status_code == 200  # the page of the scan the cookie keeps
    assert round_trips.count == 1


def test_expired_code(desktop, phone, qr_redis):
    path = scan(desktop)
    order_id = tokens.parse_scan_token(path.strip("/").split("/")[-1]).order_id
    ttl = qr_redis.ttl(store.order_key(order_id))
    assert 295 <= ttl <= 300
    qr_redis.delete(store.order_key(order_id))  # what Redis does when the TTL runs out
    assert phone.get(path)["Location"] == INVALID
    assert phone.post(path)["Location"] == INVALID


@override_settings(AUTH_QR_CODE_EXPIRATION_TIME=42)
def test_expiration_time_setting(desktop, qr_redis):
    path = scan(desktop)
    order_id = tokens.parse_scan_token(path.strip("/").split("/")[-1]).order_id
    assert 40 <= qr_redis.ttl(store.order_key(order_id)) <= 42


def test_reloading_the_page_cancels_the_previous_code(desktop, phone):
    old = scan(desktop)
    new = scan(desktop)
    assert phone.get(old)["Location"] == INVALID
    assert phone.post(old)["Location"] == INVALID
    assert phone.post(new).status_code == 302
    assert signed_in_as(phone) == "alice"


def test_a_code_whose_image_was_never_fetched_does_not_work(desktop, phone):
    auth_code = open_qr_page(desktop)
    token = tokens.scan_token(auth_code)
    assert phone.post(reverse("qr_code_login", args=[token]))["Location"] == INVALID


# -- revocation --------------------------------------------------------------------


def test_logout_of_the_issuing_browser_cancels_its_code(desktop, phone):
    path = scan(desktop)
    desktop.logout()
    assert phone.post(path)["Location"] == INVALID
    assert signed_in_as(phone) is None


def test_password_change_after_issue_refuses_the_code(desktop, phone, alice):
    path = scan(desktop)
    alice.set_password("a-new-password")
    alice.save()
    assert phone.post(path)["Location"] == INVALID
    assert signed_in_as(phone) is None


def test_inactive_user_is_refused(desktop, phone, alice):
    path = scan(desktop)
    phone.get(path)
    alice.is_active = False
    alice.save()
    assert phone.post(path)["Location"] == INVALID
    assert signed_in_as(phone) is None


def test_logout_while_redis_is_in_back_off_still_kills_the_code(desktop, phone):
    path = scan(desktop)
    store._breaker._failed(redis.ConnectionError("a blip"))  # the cancel will not be tried
    desktop.logout()
    store._breaker.reset()
    assert phone.post(path)["Location"] == INVALID
    assert signed_in_as(phone) is None


def test_switching_user_without_logout_kills_the_code(desktop, phone):
    path = scan(desktop)
    desktop.force_login(get_user_model().objects.create_user("bob"))  # login() flushes
    # The question does not load the issuing session (Continue decides):
    # it asks, and Continue refuses.
    asked = phone.get(path, follow=True)
    assert "qrauth/confirm.html" in [t.name for t in asked.templates]
    assert phone.post(path)["Location"] == INVALID
    assert SESSION_KEY not in phone.session


def test_a_deleted_desktop_session_kills_the_code(desktop, phone):
    path = scan(desktop)
    desktop.session.delete()
    assert phone.post(path)["Location"] == INVALID


def test_a_newer_code_wins_even_if_cancelling_the_old_one_failed(desktop, phone, monkeypatch):
    old = scan(desktop)
    monkeypatch.setattr(store, "cancel_order", lambda *args: False)
    scan(desktop)
    assert phone.post(old)["Location"] == INVALID


def test_the_question_loads_the_codes_user_only(desktop, phone, django_assert_num_queries):
    phone.get(scan(desktop))
    # Not the issuing desktop's session: Continue checks that, and refuses
    # (test_switching_user_without_logout_kills_the_code).
    with django_assert_num_queries(1):
        assert phone.get(reverse("qrauth_continue")).status_code == 200


def test_deleted_user_is_refused(desktop, phone, alice):
    path = scan(desktop)
    alice.delete()
    assert phone.get(path, follow=True).redirect_chain[-1][0] == INVALID
    assert phone.post(path)["Location"] == INVALID


# -- signals -------------------------------------------------------------------------


def test_signals_along_a_sign_in(desktop, phone, alice, sent):
    path = scan(desktop)
    phone.get(path, follow=True)
    phone.post(path)
    phone.post(path)
    names = [name for name, _, _ in sent]
    assert names == ["issued", "scanned", "signed_in", "rejected"]
    refs = {kwargs["order_ref"] for _, _, kwargs in sent}
    assert len(refs) == 1  # one order, named by its ref throughout
    assert all(sender == "handoff" for _, sender, _ in sent)
    assert sent[0][2]["user"] == alice
    assert sent[1][2]["device"] == "Safari on iOS"
    assert sent[2][2]["user"] == alice
    assert sent[3][2]["reason"] == "invalid"


def test_rejected_signal_says_why(desktop, phone, alice, sent):
    path = scan(desktop)
    alice.set_password("changed")
    alice.save()
    phone.post(path)
    reasons = [kwargs["reason"] for name, _, kwargs in sent if name == "rejected"]
    assert reasons == ["password_changed"]


def test_no_signal_carries_a_token(desktop, phone, sent):
    path = scan(desktop)
    phone.get(path)
    phone.post(path)
    secrets_in_url = path.strip("/").split("/")[-1].split(".")
    for _, _, kwargs in sent:
        text = repr({k: v for k, v in kwargs.items() if k != "request"})
        assert not any(part in text for part in secrets_in_url)


def test_a_padded_or_huge_next_never_breaks_the_sign_in(desktop, phone):
    path = scan(desktop)
    response = phone.post(path, {"next": "  /account/  "})
    assert response["Location"] == "/account/"  # checked and returned the same, stripped
    path = scan(desktop)
    assert Client().post(path, {"next": "/" + "a" * 5000})["Location"] == "/"


# -- edge cases, each with its own sentence ------------------------------------------


def test_back_after_signing_in_says_the_phone_is_signed_in(desktop, phone):
    """Back from the site to the question a phone just answered: the scan
    cookie went with the sign-in, and the phone is told it is signed in, not
    to sign in with a password."""
    path = scan(desktop)
    assert phone.get(path, follow=True).status_code == 200
    assert phone.post(CONTINUE, {"action": "continue"})["Location"] == "/"
    back = phone.get(CONTINUE, follow=True)
    assert back.status_code == 200
    assert "qrauth/already_signed_in.html" in [t.name for t in back.templates]
    html = back.content.decode()
    assert "You are already signed in on this device as alice." in html
    assert "Sign in with your password" not in html and "no longer works" not in html
    assert 'href="/">Go to the site</a>' in html  # AUTH_QR_CODE_REDIRECT_URL


def test_back_while_the_desktop_must_allow_is_not_told_it_is_done(desktop, bob, settings):
    """Desktop confirmation: bob's phone (signed in with his password) asked
    to become alice's and waits for the desktop's Allow; Back must not say
    "you are already signed in, nothing more to do"."""
    settings.AUTH_QR_CODE_DESKTOP_CONFIRMATION = True
    bobs_phone = Client()
    bobs_phone.force_login(bob)
    path = scan(desktop)
    bobs_phone.get(path, follow=True)
    waiting = bobs_phone.post(CONTINUE, {"action": "continue"}, follow=True)
    assert "qrauth/handoff_wait.html" in [t.name for t in waiting.templates]
    back = bobs_phone.get(CONTINUE, follow=True)
    assert "qrauth/already_signed_in.html" not in [t.name for t in back.templates]
    assert "nothing more to do" not in back.content.decode()


def test_back_after_signing_in_counts_no_failed_scan(desktop, phone, sent, settings):
    settings.AUTH_QR_CODE_SCAN_FAILURES_PER_IP = (1, 60)
    phone.post(scan(desktop))
    for _ in range(3):
        assert phone.get(CONTINUE).status_code == 200
    assert [name for name, _, _ in sent if name == "rejected"] == []


def test_opening_your_own_code_in_the_same_browser_says_so(desktop, phone):
    """The desktop opens the scan URL of the code it shows (a screenshot's
    QR opened on the same device, a link copied): it is told the code is for
    its phone; nothing is recorded or used, and the phone can still use it."""
    auth_code = open_qr_page(desktop)
    picture = desktop.get(reverse("auth_qr_code", args=[auth_code]))
    path = urlsplit(decode_png(picture.content)).path
    for method in (desktop.get, desktop.head):
        response = method(path, follow=True)
        assert response.status_code == 200
        assert "qrauth/own_code.html" in [t.name for t in response.templates]
    html = desktop.get(path).content.decode()
    assert "This code is for your phone" in html
    assert "You are already signed in here as alice." in html
    assert "Signed in on another device" not in html
    order_id = tokens.parse_scan_token(path.strip("/").split("/")[-1]).order_id
    assert store.peek_order(order_id).state_name == "pending"  # not even "scanned"
    assert phone.post(path)["Location"] == "/"
    assert signed_in_as(phone) == "alice"


def test_opening_your_own_code_once_it_is_cancelled_says_it_no_longer_works(desktop):
    auth_code = open_qr_page(desktop)
    picture = desktop.get(reverse("auth_qr_code", args=[auth_code]))
    path = urlsplit(decode_png(picture.content)).path
    desktop.post(reverse("qrauth_cancel", args=[auth_code]))
    response = desktop.get(path, follow=True)
    assert "qrauth/own_code.html" not in [t.name for t in response.templates]
    assert "This code no longer works" in response.content.decode()


def test_the_invalid_page_tells_a_signed_in_visitor_no_password_story(desktop):
    response = desktop.get(INVALID)
    assert response.status_code == 200
    html = response.content.decode()
    assert "This code no longer works" in html
    assert "Sign in with your password" not in html
    assert 'href="/">Go to the site</a>' in html


def test_the_pages_intro_and_its_status_each_say_their_own(desktop):
    """The intro says what the code does; the status line what to do now,
    then what happens (it is not the intro again)."""
    html = desktop.get(reverse("qr_code_page")).content.decode()
    assert "This code signs your phone in as alice." in html
    assert "Scan the code with your phone&#x27;s camera." in html  # the status
    assert html.count("Scan") == 1
