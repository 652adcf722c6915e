"""Bad input to every qrauth URL, generated with hypothesis.

What this module proves, on fakeredis and on a real redis-server (``qr_redis``),
through Django's test Client:

* No request to a qrauth URL answers 5xx or shows a traceback, whatever its
  token (any text: unicode, control characters, NUL, dots, encoded slashes,
  raw non-UTF-8 bytes, tens of kilobytes), method, headers (User-Agent,
  Sec-Fetch-Site, X-Forwarded-For, REMOTE_ADDR, Host) and form fields
  (``action``, ``number``, ``next``).
* Garbage and forged tokens (a real token with a bit flipped, a character
  replaced, cut short, extended, another elapsed, another order's id) are
  never authentic, sign nobody in and leave the live orders exactly as they
  were; so do real tokens out of place: of the other flow, replayed after
  use, stale, from the future, of a cancelled or replaced order, or a photo
  of a frame another phone scanned. Afterwards the real phone still
  finishes its sign-in.
* ``next`` never sends a browser off-site, from any of the views that follow
  it (``qrauth_signin``, the hand-off scan POST, ``qrauth_collect``,
  ``qrauth_step_up``), and a ``next`` Django would refuse to redirect to
  falls back to the default instead of turning a sign-in into a 400.
* qrauth's own log lines never carry a token or an order id.
"""

from __future__ import annotations

import json
import logging
import operator
import re
from collections.abc import Iterable, Sequence
from importlib import import_module
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.encoding import iri_to_uri
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qrauth import store, tokens

from .helpers import IPHONE_SAFARI, WINDOWS_CHROME, browser_of, decode_png, forget_rate_limits

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("qr_redis"), pytest.mark.slow]

# Function-scoped fixtures (the database, Redis, the users) are shared by the
# examples of a test: every example leaves what it does not own as it found it.
FUZZ = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    deadline=None,
    max_examples=60,
    database=None,
)

INVALID = reverse("invalid_auth_code")
CONTINUE = reverse("qrauth_continue")
RESUME = reverse("qrauth_approve_resume")
LOGIN_REDIRECT = "/"

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
SCAN_VIEWS = ("qr_code_login", "qrauth_approve")
# Hand-off with desktop confirmation (off here, as by default).
CONFIRM_VIEWS = ("qrauth_handoff_decide", "qrauth_handoff_wait", "qrauth_handoff_finish")
TOKEN_VIEWS = (
    *SCAN_VIEWS,
    "auth_qr_code",
    "qrauth_signin_picture",
    "qrauth_status",
    "qrauth_cancel",
    "qrauth_collect",
    *CONFIRM_VIEWS,
)
PLAIN_VIEWS = (
    "qr_code_page",
    "invalid_auth_code",
    "qrauth_signin",
    "qrauth_approve_resume",
    "qrauth_continue",
    "qrauth_step_up",
)
# Segments that, in the place of a hand-off token, are another qrauth URL.
ROUTED_SEGMENTS = {"signin", "approve", "invalid_code", "step-up", "continue"}

# What the test client's ALLOWED_HOSTS lets through, and some it does not (400).
HOSTS = (
    "testserver",
    "TestServer",
    "testserver:8000",
    "testserver.",
    "localhost",
    "localhost:65535",
    "127.0.0.1",
    "127.0.0.1:1",
    "example.com",
    "EXAMPLE.COM.",
    "phone.example:443",
    "evil.example",
    "testserver@evil.example",
    "[::1]",
    "testserver:notaport",
)

NEXT_TRICKS = (
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "https:evil.example",
    "http://testserver@evil.example",
    " //evil.example",
    "\t//evil",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
    "／／evil.example",  # fullwidth solidus
    "\u2215\u2215evil.example",  # division slash
    "/\u2215evil.example",
    "//ｅｖｉｌ.example",  # fullwidth letters: NFKC makes them ASCII
    "https://evil.example",
    "HTTPS://EVIL.EXAMPLE/",
    "http:/\\evil.example",
    "///evil.example",
    "http:///evil.example",
    "//testserver@evil.example",
    "https://testserver.evil.example/",
    "http://evil.example\\@testserver/",
    "//evil.example%2f@testserver",
    "/\t/evil.example",
    "\n//evil.example",
    "\x00//evil.example",
    "\u3000//evil.example",
    "\u200b//evil.example",
    "\ufeff//evil.example",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://evil.example/",
    "http://[::1",
    "/account/",
    "dashboard",
    "http://testserver/account/",
)

ALICE_PASSWORD = "alice-password"


# -- strategies -------------------------------------------------------------------

# Header values as a WSGI server hands them over: latin-1 text.
header_text = st.text(st.characters(max_codepoint=0xFF), max_size=100)


def repeated(pieces: Sequence[str], low: int, high: int) -> st.SearchStrategy[str]:
    """One of ``pieces`` repeated ``low`` to ``high`` times: very long strings."""
    return st.builds(operator.mul, st.sampled_from(pieces), st.integers(low, high))


def percent_encoded(raw: bytes) -> str:
    """Every byte as %XX: raw, maybe not UTF-8, bytes in a path."""
    return "".join(f"%{byte:02x}" for byte in raw)


# Tokens with the shape of real ones (so they get as far as the HMAC check).
token_shaped = st.from_regex(
    r"[A-Za-z0-9_-]{22}\.(?:(?:0|[1-9][0-9]{0,4})\.[0-9a-f]{64}|[A-Za-z0-9_-]{22})",
    fullmatch=True,
)
garbage_tokens = st.one_of(
    st.text(max_size=80),  # any unicode but surrogates, control characters included
    st.text(st.sampled_from("AZaz09_-.%/\\?#;\x00 é"), max_size=60),
    token_shaped,
    repeated(["a", ".", "é", "\x00", "%", "A" * 22 + ".", "../"], 500, 20_000),
    st.sampled_from([".", "..", "...", "a.b.c", "%2e%2e", "..%2f..", "\x00", " ", "0.0.0"]),
).filter(lambda token: token not in ROUTED_SEGMENTS)

raw_segments = st.one_of(
    st.binary(min_size=1, max_size=40).map(percent_encoded),
    st.sampled_from(["%ff%fe", "%00", "a%00b", "%c0%af", "%ed%a0%80", "%e2%82", "%2F", "%2e%2e"]),
    repeated(["%ff", "%00", "a", "%e2%82%ac"], 1000, 10_000),
)
path_prefixes = st.sampled_from(
    [
        "/qr/",
        "/qr/pic/",
        "/qr/status/",
        "/qr/cancel/",
        "/qr/approve/",
        "/qr/signin/",
        "/qr/signin/pic/",
        "/qr/signin/collect/",
        "/qr/invalid_code/",
    ]
)
path_suffixes = st.sampled_from(["/", "", "//", "/x/", "/%ff/", "%00/"])

user_agents = st.one_of(
    header_text,
    st.sampled_from([IPHONE_SAFARI, WINDOWS_CHROME, ""]),
    repeated(["A", "\xff", "Mozilla/5.0 (iPhone) Chrome/1 "], 500, 20_000),
)
fetch_sites = st.one_of(
    st.sampled_from(["cross-site", "same-site", "same-origin", "none", "", "CROSS-SITE"]),
    header_text,
)
forwarded_fors = st.one_of(
    header_text, st.sampled_from(["203.0.113.9, 10.0.0.1", "unknown", "::1", "1.2.3.4," * 800])
)
remote_addrs = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(["fe80::1%eth0", "::ffff:203.0.113.7", "", "unknown", "127.0.0.1"]),
    header_text,
)
BROWSER_HEADERS = {
    "HTTP_USER_AGENT": user_agents,
    "HTTP_SEC_FETCH_SITE": fetch_sites,
    "HTTP_X_FORWARDED_FOR": forwarded_fors,
    "REMOTE_ADDR": remote_addrs,
}
browser_headers = st.fixed_dictionaries({}, optional=BROWSER_HEADERS)
request_headers = st.fixed_dictionaries(
    {}, optional={**BROWSER_HEADERS, "HTTP_HOST": st.sampled_from(HOSTS)}
)
cookies = st.one_of(
    header_text,
    st.builds("sessionid={}; csrftoken={}".format, header_text, header_text),
    st.sampled_from(["sessionid=", "sessionid=x" * 1000, "=;=;", 'sessionid="\\"']),
    st.builds("qrauth_scan={}".format, header_text),  # the scan a phone keeps, forged
)
# A body of any bytes, under any content type: what a POST may carry instead of a form.
raw_bodies = st.tuples(
    st.sampled_from(
        [
            "multipart/form-data; boundary=B",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-16",
            "application/x-www-form-urlencoded; charset=no-such-codec",
            "application/json",
            "text/plain",
            "",
        ]
    ),
    st.one_of(
        st.binary(max_size=200),
        st.sampled_from(
            [b"--B\r\nContent-Disposition: form-data\r\n\r\nx", b"action=" + b"%ff" * 50]
        ),
        st.builds(
            operator.mul, st.sampled_from([b"a=1&", b"action=approve&"]), st.integers(500, 2000)
        ),
    ),
)

next_values = st.one_of(
    st.sampled_from(NEXT_TRICKS),
    st.text(max_size=80),
    st.builds(
        operator.add,
        st.builds(
            operator.add,
            st.sampled_from(["", "/", "//", "\\\\", "/\\", "http:", "https://", " ", "\t", "\x00"]),
            st.sampled_from(["evil.example", "testserver", "testserver@evil.example", "[::1]", ""]),
        ),
        st.sampled_from(["", "/", "/path", "?q=1", "#f", ":80", "@testserver", "\\"]),
    ),
)
form_fields = st.fixed_dictionaries(
    {},
    optional={
        "action": st.one_of(
            st.sampled_from(["approve", "deny", "decline", "", "APPROVE", " approve"]),
            st.text(max_size=20),
        ),
        "number": st.one_of(
            st.sampled_from(["10", "99", "00", " 42 ", "٤٢"]), st.text(max_size=12)
        ),
        "next": next_values,
        "password": st.one_of(st.just(ALICE_PASSWORD), st.text(max_size=20)),
    },
)
# The attacker's requests with a forged token: mostly what a browser sends.
scan_methods = st.sampled_from(["GET", "GET", "HEAD", "POST", "POST", "POST", "PUT", "OPTIONS"])


def flip(text: str, index: int, bit: int) -> str:
    return text[:index] + chr(ord(text[index]) ^ (1 << bit)) + text[index + 1 :]


def replace(text: str, index: int, char: str) -> str:
    return text[:index] + char + text[index + 1 :]


MUTATIONS = (
    "flip",
    "replace",
    "truncate",
    "extend",
    "prefix",
    "other order id",
    "upper",
    "lower",
    "swapcase",
    "trailing dot",
    "leading dot",
    "doubled",
    "elapsed",
    "no elapsed",
)


@st.composite
def mutations(draw) -> dict:
    """How to spoil a token, drawn apart from the token: the token is new in
    every example, and what hypothesis draws must not depend on it."""
    return {
        "kind": draw(st.sampled_from(MUTATIONS)),
        "at": draw(st.integers(0, 10**6)),
        "bit": draw(st.integers(0, 7)),
        "char": draw(st.characters(codec="utf-8")),
        "text": draw(st.text(min_size=1, max_size=40)),
        "elapsed": draw(
            st.one_of(
                st.integers(0, 10**6).map(str),
                st.sampled_from(["-1", "+1", "01", " 1", "1 ", "1e3", "0x1", "١", ""]),
                st.text(max_size=6),
            )
        ),
    }


def mutate(token: str, other_ids: Sequence[str], how: dict) -> str:
    """A near miss of ``token`` (a scan token or an order id), never ``token``."""
    kind, at = how["kind"], how["at"] % len(token)
    order_id, dot, rest = token.partition(".")
    parts = token.split(".")
    code = parts[-1]
    forged = {
        "flip": lambda: flip(token, at, how["bit"]),
        "replace": lambda: replace(token, at, how["char"]),
        "truncate": lambda: token[:at],
        "extend": lambda: token + how["text"],
        "prefix": lambda: how["text"][:5] + token,
        "other order id": lambda: other_ids[how["at"] % len(other_ids)] + dot + rest,
        "upper": token.upper,
        "lower": token.lower,
        "swapcase": token.swapcase,
        "trailing dot": lambda: token + ".",
        "leading dot": lambda: "." + token,
        "doubled": lambda: token * 2,
        # A frame gets another elapsed, a static code one added.
        "elapsed": lambda: f"{order_id}.{how['elapsed']}.{code}",
        "no elapsed": lambda: f"{order_id}.{code}",
    }[kind]()
    return forged if forged != token else token + "."


# -- clients and requests -----------------------------------------------------------


def user_of(client: Client) -> str | None:
    """Whom ``client``'s session is signed in as (without giving it a session)."""
    cookie = client.cookies.get(django_settings.SESSION_COOKIE_NAME)
    if cookie is None or not cookie.value:
        return None
    engine = import_module(django_settings.SESSION_ENGINE)
    return engine.SessionStore(cookie.value).get(SESSION_KEY)


def url(view: str, code: str) -> str:
    """The path of ``view`` for any ``code``, percent-encoded as a browser sends it."""
    return reverse(view, args=["MARKER0"]).replace("MARKER0", quote(code, safe=""))


def send(client: Client, method: str, path: str, fields=None, headers=None, body=None):
    """``fields`` as a query (GET, HEAD) or a form, unless a raw ``body``
    (content type, bytes) replaces the form."""
    fields, headers = fields or {}, headers or {}
    if method in ("GET", "HEAD"):
        return getattr(client, method.lower())(path, fields, **headers)
    if body is not None:
        return client.generic(method, path, body[1], body[0], **headers)
    if method == "POST":
        return client.post(path, fields, **headers)
    body = urlencode(fields)
    return client.generic(method, path, body, "application/x-www-form-urlencoded", **headers)


def assert_on_site(location: str, host: str = "testserver") -> None:
    """``location`` stays on ``host``, by Django's judgement and as a browser reads it."""
    # Django judges no URL past 2048 characters; where one goes is in its start.
    assert url_has_allowed_host_and_scheme(location[:2000], allowed_hosts={host}), location
    # A browser drops leading controls and spaces and tabs and newlines
    # anywhere, and takes a backslash for a slash.
    seen = re.sub(r"[\t\n\r]", "", location.lstrip("".join(map(chr, range(0x21)))))
    parts = urlsplit(seen.replace("\\", "/"))
    assert parts.scheme in ("", "http", "https"), location
    assert parts.netloc in ("", host), location
    assert parts.netloc or not parts.scheme, location  # "https:evil.example"


def check(response, host: str = "testserver"):
    """No 5xx, no traceback, no redirect off-site."""
    assert response.status_code < 500, response.status_code
    assert b"Traceback" not in response.content
    if response.has_header("Location"):
        assert_on_site(response["Location"], host)
    return response


# Anything shaped like a scan token, or an order id right before a dot.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}\.")


def assert_no_token_logged(caplog, secrets: Iterable[str], anywhere: Iterable[str] = ()) -> None:
    """qrauth's own log lines carry nothing shaped like a token and none of
    ``secrets`` (tokens, order ids, codes); no log line at all, Django's
    included, carries any of ``anywhere`` (working tokens and their codes)."""
    secrets = [secret for secret in secrets if len(secret) >= 16]
    anywhere = [secret for secret in anywhere if len(secret) >= 16]
    for record in caplog.records:
        message = record.getMessage()
        assert not [secret for secret in anywhere if secret in message], message
        if record.name == "qrauth" or record.name.startswith("qrauth."):
            assert not TOKEN_SHAPE.search(message), message
            assert not [secret for secret in secrets if secret in message], message


def codes_of(*scan_tokens: str) -> list[str]:
    """Tokens and their codes (not the order ids, which Django logs in 404s)."""
    return [part for token in scan_tokens for part in (token, token.rsplit(".", 1)[-1])]


def parts_of(token: str) -> list[str]:
    return [token, *token.split(".")]


# -- the two flows, done right ----------------------------------------------------------


def poll(client: Client, order_id: str) -> dict:
    response = client.get(reverse("qrauth_status", args=[order_id]))
    assert response.status_code == 200
    return json.loads(response.content)


def frame_of(client: Client, order_id: str) -> str:
    """The token of the frame the page shows now."""
    return urlsplit(poll(client, order_id)["frame"]).path.rstrip("/").rsplit("/", 1)[1]


def static_of(client: Client, picture_view: str, order_id: str) -> str:
    """The static token, once its picture was fetched (which lets it work)."""
    picture = client.get(reverse(picture_view, args=[order_id]), {"format": "svg"})
    assert picture.status_code == 200
    return tokens.scan_token(order_id)


def open_handoff(desktop: Client) -> str:
    response = desktop.get(reverse("qr_code_page"))
    assert response.status_code == 200
    return response.context["auth_code"]


def open_signin(computer: Client) -> str:
    response = computer.get(reverse("qrauth_signin"))
    assert response.status_code == 200
    return response.context["auth_code"]


def handoff_token(desktop: Client, order_id: str, static: bool) -> str:
    return static_of(desktop, "auth_qr_code", order_id) if static else frame_of(desktop, order_id)


def approve_token(computer: Client, order_id: str, static: bool) -> str:
    """The animated frame, or (``static``) what the plain image shows: an
    approve order has no static code, its image carries the frame of now."""
    if static:
        picture = computer.get(reverse("qrauth_signin_picture", args=[order_id]))
        assert picture.status_code == 200
        return urlsplit(decode_png(picture.content)).path.rstrip("/").rsplit("/", 1)[1]
    return frame_of(computer, order_id)


def finish_handoff(phone: Client, token: str, user) -> None:
    """The real phone opens the scan URL and presses Continue: signed in."""
    path = url("qr_code_login", token)
    assert phone.get(path, follow=True).status_code == 200
    response = phone.post(path)
    assert response.status_code == 302 and response["Location"] == LOGIN_REDIRECT
    assert user_of(phone) == str(user.pk)


def approve_with(phone: Client, computer: Client, order_id: str, token: str) -> None:
    """The real phone opens the scan URL and approves with the number on screen."""
    path = url("qrauth_approve", token)
    page = phone.get(path, follow=True)
    assert "qrauth/approve.html" in [t.name for t in page.templates], page.status_code
    answer = phone.post(path, {"action": "approve", "number": poll(computer, order_id)["number"]})
    assert "Approved" in answer.content.decode()


def finish_approve(phone: Client, computer: Client, order_id: str, token: str, user) -> None:
    approve_with(phone, computer, order_id, token)
    collected = computer.post(reverse("qrauth_collect", args=[order_id]), {"confirm": "account"})
    assert collected.status_code == 302
    assert user_of(computer) == str(user.pk)


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture
def mallory(db):
    return get_user_model().objects.create_user("mallory", password="mallory-password")


@pytest.fixture
def bobs_phone(bob):
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI, REMOTE_ADDR="203.0.113.50")
    phone.force_login(bob)
    return phone


@pytest.fixture
def qrauth_logs(caplog):
    caplog.set_level(logging.INFO, logger="qrauth")
    return caplog


class World:
    """Two live orders, each scanned by its real phone, and the browsers around
    them; bad requests must leave both orders exactly as they are."""

    def __init__(self, alice, bob, mallory, bobs_phone):
        self.alice, self.bob = alice, bob
        self.desktop = browser_of(alice)
        self.handoff_id = open_handoff(self.desktop)
        static_of(self.desktop, "auth_qr_code", self.handoff_id)
        self.handoff_frame = frame_of(self.desktop, self.handoff_id)
        self.phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI)
        scanned = self.phone.get(url("qr_code_login", self.handoff_frame), follow=True)
        assert scanned.status_code == 200

        self.computer = Client(HTTP_USER_AGENT=WINDOWS_CHROME, REMOTE_ADDR="203.0.113.7")
        self.approve_id = open_signin(self.computer)
        static_of(self.computer, "qrauth_signin_picture", self.approve_id)
        self.approve_frame = frame_of(self.computer, self.approve_id)
        self.bobs_phone = bobs_phone
        page = bobs_phone.get(url("qrauth_approve", self.approve_frame), follow=True)
        assert "qrauth/approve.html" in [t.name for t in page.templates]
        self.mallorys_phone = browser_of(mallory)
        self.before = self.snapshot()
        assert [order.state_name for order in self.before] == ["scanned", "scanned"]

    def client(self, who: str) -> Client:
        if who == "stranger":
            return Client()
        if who == "strict stranger":
            return Client(enforce_csrf_checks=True)
        return getattr(self, who)

    def snapshot(self):
        return store.peek_order(self.handoff_id), store.peek_order(self.approve_id)

    def secrets(self) -> list[str]:
        found = [*parts_of(self.handoff_frame), *parts_of(self.approve_frame)]
        found += [*parts_of(tokens.scan_token(self.handoff_id))]
        return found + [*parts_of(tokens.scan_token(self.approve_id))]

    def working(self) -> list[str]:
        return codes_of(
            self.handoff_frame,
            self.approve_frame,
            tokens.scan_token(self.handoff_id),
            tokens.scan_token(self.approve_id),
        )

    def assert_untouched(self) -> None:
        assert self.snapshot() == self.before

    def finish(self) -> None:
        """Both real phones still finish: the phone and the computer sign in."""
        self.assert_untouched()
        response = self.phone.post(url("qr_code_login", self.handoff_frame))
        assert response.status_code == 302
        assert user_of(self.phone) == str(self.alice.pk)
        finish_approve(
            self.bobs_phone, self.computer, self.approve_id, self.approve_frame, self.bob
        )


WHO = (
    "stranger",
    "strict stranger",
    "mallorys_phone",
    "desktop",
    "computer",
    "phone",
    "bobs_phone",
)


@pytest.fixture
def world(alice, bob, mallory, bobs_phone, clock):
    return World(alice, bob, mallory, bobs_phone)


# -- garbage everywhere ------------------------------------------------------------------


def test_garbage_tokens_on_every_token_url_sign_nobody_in(world, qrauth_logs):
    @settings(FUZZ, max_examples=100)
    @given(
        who=st.sampled_from(WHO),
        view=st.sampled_from(TOKEN_VIEWS),
        token=garbage_tokens,
        method=st.sampled_from(METHODS),
        headers=request_headers,
        fields=form_fields,
        body=st.none() | raw_bodies,
    )
    def garbage(who, view, token, method, headers, fields, body):
        forget_rate_limits()  # each example as the first from its address
        client = world.client(who)
        signed_in = user_of(client)
        response = send(client, method, url(view, token), fields, headers, body)
        check(response, headers.get("HTTP_HOST", "testserver"))
        if view in SCAN_VIEWS and method in ("GET", "HEAD", "POST"):
            # Refused before Redis is asked (unless routed elsewhere: 404).
            assert response.status_code in (302, 400, 403, 404)
            if response.status_code == 302:
                assert response["Location"] == INVALID
        elif view in CONFIRM_VIEWS:  # desktop confirmation is off: 404, or to log in
            assert response.status_code in (302, 400, 403, 404, 405)
            if response.status_code == 302:
                assert response["Location"].startswith((INVALID, "/accounts/login/"))
        else:  # only the issuing browser, with its exact order id, gets anything
            assert response.status_code in (400, 403, 404, 405)
        assert user_of(client) == signed_in
        world.assert_untouched()

    garbage()
    assert_no_token_logged(qrauth_logs, world.secrets(), world.working())
    world.finish()


def test_raw_bytes_nul_and_huge_paths_are_4xx_at_worst(world, qrauth_logs):
    @settings(FUZZ, max_examples=60)
    @given(
        who=st.sampled_from(WHO),
        prefix=path_prefixes,
        segment=raw_segments,
        suffix=path_suffixes,
        method=st.sampled_from(METHODS),
    )
    def raw(who, prefix, segment, suffix, method):
        forget_rate_limits()  # each example as the first from its address
        client = world.client(who)
        signed_in = user_of(client)
        check(send(client, method, prefix + segment + suffix))
        assert user_of(client) == signed_in
        world.assert_untouched()

    raw()
    assert_no_token_logged(qrauth_logs, world.secrets(), world.working())
    world.finish()


@settings(FUZZ, max_examples=60)
@given(
    view=st.sampled_from(PLAIN_VIEWS),
    who=st.sampled_from(["anonymous", "alice", "bob"]),
    method=st.sampled_from(METHODS),
    headers=request_headers,
    query=form_fields,
    cookie=st.none() | cookies,
)
def test_the_urls_without_a_code_take_any_method_header_and_query(
    view, who, method, headers, query, cookie, alice, bob, qrauth_logs
):
    forget_rate_limits()  # each example as the first from its address
    client = Client() if who == "anonymous" else browser_of(alice if who == "alice" else bob)
    if cookie is not None and who == "anonymous":  # a signed-in browser keeps its session
        headers = {**headers, "HTTP_COOKIE": cookie}
    signed_in = user_of(client)
    response = check(
        send(client, method, reverse(view), query, headers), headers.get("HTTP_HOST", "testserver")
    )
    assert user_of(client) == signed_in
    fetch_site = headers.get("HTTP_SEC_FETCH_SITE")
    if view == "qr_code_page" and response.status_code == 200 and method == "GET":
        showed_a_code = "auth_code" in response.context
        assert showed_a_code == (fetch_site not in ("cross-site", "same-site"))
    assert_no_token_logged(qrauth_logs, [])


@settings(FUZZ, max_examples=40)
@given(
    host=st.one_of(
        st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,60}[a-z0-9])?(:[0-9]{1,5})?", fullmatch=True),
        repeated(["a", "a.", "-"], 100, 4000),
        header_text,
    ),
    image_format=st.sampled_from(["png", "svg", "gif", ""]),
)
def test_any_host_header_is_a_page_or_a_400(host, image_format, alice):
    forget_rate_limits()  # each example as the first from its address
    with override_settings(ALLOWED_HOSTS=["*"]):
        any_host_answers(host, image_format, alice)


def any_host_answers(host, image_format, alice) -> None:
    desktop = browser_of(alice)
    computer = Client()
    headers = {"HTTP_HOST": host}
    page = check(desktop.get(reverse("qr_code_page"), **headers), host)
    signin = check(computer.get(reverse("qrauth_signin"), **headers), host)
    for client, response, picture in (
        (desktop, page, "auth_qr_code"),
        (computer, signin, "qrauth_signin_picture"),
    ):
        if response.status_code != 200:
            assert response.status_code == 400
            continue
        order_id = response.context["auth_code"]
        check(client.get(reverse("qrauth_status", args=[order_id]), **headers), host)
        query = {"format": image_format} if image_format else {}
        image = check(client.get(reverse(picture, args=[order_id]), query, **headers), host)
        assert image.status_code in (200, 400)


# -- forged tokens of a live order -----------------------------------------------------------


attackers = st.sampled_from(["stranger", "mallory"])


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_forged_handoff_tokens_sign_nobody_in_and_the_code_still_works(
    data, desktop, alice, mallory, clock, qrauth_logs
):
    forget_rate_limits()  # each example as the first from its address
    qrauth_logs.clear()
    order_id = open_handoff(desktop)
    clock.now += data.draw(st.integers(0, 5), label="seconds since the code appeared")
    token = handoff_token(desktop, order_id, data.draw(st.booleans(), label="static"))
    other = open_signin(Client())  # another live order, of the other flow
    forged = mutate(token, [other, tokens.new_secret()], data.draw(mutations(), label="forged"))
    assert tokens.parse_scan_token(forged) is None
    attacker = Client() if data.draw(attackers) == "stranger" else browser_of(mallory)
    signed_in = user_of(attacker)
    before = store.peek_order(order_id), store.peek_order(other)

    for method, view, fields in data.draw(
        st.lists(
            st.tuples(scan_methods, st.sampled_from(SCAN_VIEWS), form_fields),
            min_size=1,
            max_size=3,
        ),
        label="requests",
    ):
        response = check(send(attacker, method, url(view, forged), fields))
        assert response.status_code in (302, 400, 404, 405)
        if response.status_code == 302:
            assert response["Location"] == INVALID
    forged_id = mutate(order_id, [other], data.draw(mutations(), label="forged order id"))
    for view in ("auth_qr_code", "qrauth_status", "qrauth_cancel"):
        method = "POST" if view == "qrauth_cancel" else "GET"
        assert check(send(desktop, method, url(view, forged_id))).status_code == 404
        assert check(send(attacker, method, url(view, order_id))).status_code == 404

    assert user_of(attacker) == signed_in
    assert (store.peek_order(order_id), store.peek_order(other)) == before
    finish_handoff(Client(HTTP_USER_AGENT=IPHONE_SAFARI), token, alice)
    secrets = [*parts_of(token), order_id, other, forged, forged_id]
    # Django logs the forged paths it refuses (405, 404): never the working token.
    assert_no_token_logged(qrauth_logs, secrets, [token])


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_forged_approve_tokens_sign_nobody_in_and_claim_nothing(
    data, desktop, bob, bobs_phone, mallory, clock, qrauth_logs
):
    forget_rate_limits()  # each example as the first from its address
    qrauth_logs.clear()
    computer = Client(HTTP_USER_AGENT=WINDOWS_CHROME)
    order_id = open_signin(computer)
    clock.now += data.draw(st.integers(0, 5), label="seconds since the code appeared")
    token = approve_token(computer, order_id, data.draw(st.booleans(), label="static"))
    other = open_handoff(desktop)  # another live order, of the other flow
    forged = mutate(token, [other, tokens.new_secret()], data.draw(mutations(), label="forged"))
    assert tokens.parse_scan_token(forged) is None
    who = data.draw(st.sampled_from(["stranger", "mallory", "bob"]), label="attacker")
    attacker = {"stranger": Client(), "mallory": browser_of(mallory), "bob": bobs_phone}[who]
    signed_in = user_of(attacker)
    before = store.peek_order(order_id), store.peek_order(other)

    for method, view, fields in data.draw(
        st.lists(
            st.tuples(scan_methods, st.sampled_from(SCAN_VIEWS), form_fields),
            min_size=1,
            max_size=3,
        ),
        label="requests",
    ):
        response = check(send(attacker, method, url(view, forged), fields))
        assert response.status_code in (302, 400, 404, 405)
        if response.status_code == 302:
            assert response["Location"] == INVALID
    forged_id = mutate(order_id, [other], data.draw(mutations(), label="forged order id"))
    for view in ("qrauth_signin_picture", "qrauth_status", "qrauth_cancel", "qrauth_collect"):
        method = "GET" if view in ("qrauth_signin_picture", "qrauth_status") else "POST"
        assert check(send(computer, method, url(view, forged_id))).status_code == 404
        assert check(send(attacker, method, url(view, order_id))).status_code == 404

    assert user_of(attacker) == signed_in
    assert user_of(computer) is None
    assert (store.peek_order(order_id), store.peek_order(other)) == before
    finish_approve(bobs_phone, computer, order_id, token, bob)
    secrets = [*parts_of(token), order_id, other, forged, forged_id]
    # Django logs the forged paths it refuses (405, 404): never the working token.
    assert_no_token_logged(qrauth_logs, secrets, [token])


# -- real tokens out of place ----------------------------------------------------------------

MISPLACED = ("other flow", "stale", "future", "photo after scan", "replay", "cancelled", "replaced")


@settings(FUZZ, max_examples=60)
@given(
    case=st.sampled_from(MISPLACED),
    static=st.booleans(),
    delay=st.integers(14, 280),
    methods=st.lists(st.sampled_from(["GET", "HEAD", "POST"]), min_size=1, max_size=3),
    action=st.sampled_from(["", "decline", "approve", "deny"]),
    who=attackers,
)
def test_handoff_tokens_out_of_place_sign_nobody_in(
    case,
    static,
    delay,
    methods,
    action,
    who,
    desktop,
    alice,
    mallory,
    bobs_phone,
    clock,
    qrauth_logs,
):
    forget_rate_limits()  # each example as the first from its address
    qrauth_logs.clear()
    order_id = open_handoff(desktop)
    frame_only = case in ("stale", "future", "photo after scan")
    token = handoff_token(desktop, order_id, static and not frame_only)
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI)
    attacker = Client() if who == "stranger" else browser_of(mallory)
    view = "qr_code_login"
    if case == "other flow":
        view = "qrauth_approve"
        attacker = bobs_phone
    elif case == "stale":
        clock.now += delay
    elif case == "future":
        token = tokens.frame_token(order_id, 2 + delay)
    elif case == "photo after scan":
        assert phone.get(url("qr_code_login", token), follow=True).status_code == 200
        clock.now += delay
    elif case == "replay":
        finish_handoff(phone, token, alice)
    elif case == "cancelled":
        desktop.post(reverse("qrauth_cancel", args=[order_id]))
    elif case == "replaced":
        order_id = open_handoff(desktop)
    signed_in = user_of(attacker)
    before = store.peek_order(order_id)

    for method in methods:
        check(send(attacker, method, url(view, token), {"action": action} if action else {}))
    assert user_of(attacker) == signed_in
    assert store.peek_order(order_id) == before

    if case == "photo after scan":  # the phone that scanned it fresh goes on
        response = phone.post(url("qr_code_login", token))
        assert response.status_code == 302 and user_of(phone) == str(alice.pk)
    elif case in ("cancelled", "replay"):
        response = Client().post(url("qr_code_login", token))
        assert response["Location"] == INVALID
    else:
        finish_handoff(phone, handoff_token(desktop, order_id, static), alice)
    assert_no_token_logged(qrauth_logs, [*parts_of(token), order_id], codes_of(token))


@settings(FUZZ, max_examples=60)
@given(
    case=st.sampled_from(MISPLACED),
    static=st.booleans(),
    delay=st.integers(14, 280),
    methods=st.lists(st.sampled_from(["GET", "HEAD", "POST"]), min_size=1, max_size=3),
    action=st.sampled_from(["approve", "deny", "decline", ""]),
    who=st.sampled_from(["stranger", "mallory"]),
)
def test_approve_tokens_out_of_place_sign_nobody_in(
    case, static, delay, methods, action, who, desktop, bob, bobs_phone, mallory, clock, qrauth_logs
):
    forget_rate_limits()  # each example as the first from its address
    qrauth_logs.clear()
    computer = Client(HTTP_USER_AGENT=WINDOWS_CHROME)
    order_id = open_signin(computer)
    frame_only = case in ("stale", "future", "photo after scan")
    token = approve_token(computer, order_id, static and not frame_only)
    attacker = Client() if who == "stranger" else browser_of(mallory)
    view = "qrauth_approve"
    if case == "other flow":
        view = "qr_code_login"
    elif case == "stale":
        clock.now += delay
    elif case == "future":
        token = tokens.frame_token(order_id, 2 + delay)
    elif case == "photo after scan":
        assert bobs_phone.get(url("qrauth_approve", token), follow=True).status_code == 200
        clock.now += delay
    elif case == "replay":
        finish_approve(bobs_phone, computer, order_id, token, bob)
    elif case == "cancelled":
        computer.post(reverse("qrauth_cancel", args=[order_id]))
    elif case == "replaced":
        order_id = open_signin(computer)
    signed_in, computer_user = user_of(attacker), user_of(computer)
    before = store.peek_order(order_id)
    # The number the computer's screen shows (bob's phone's, once it looked):
    # the attacker knows it.
    shown = computer.get(reverse("qrauth_status", args=[order_id]))
    number = (shown.status_code == 200 and json.loads(shown.content)["number"]) or "10"

    for method in methods:
        fields = {"action": action, "number": number} if action else {"number": number}
        response = check(send(attacker, method, url(view, token), fields))
        answering = method == "POST" and action in ("approve", "deny")
        if case == "replay" and who == "mallory" and view == "qrauth_approve":
            if method != "POST" or answering:
                assert response.status_code == 409  # already handled on another device
    assert user_of(attacker) == signed_in
    assert user_of(computer) == computer_user
    assert store.peek_order(order_id) == before

    if case == "photo after scan":  # the phone that scanned it fresh goes on
        answer = bobs_phone.post(
            url("qrauth_approve", token), {"action": "approve", "number": number}
        )
        assert "Approved" in answer.content.decode()
        collect = reverse("qrauth_collect", args=[order_id])
        assert computer.post(collect, {"confirm": "account"}).status_code == 302
        assert user_of(computer) == str(bob.pk)
    elif case == "replay":
        collect = reverse("qrauth_collect", args=[order_id])
        assert computer.post(collect, {"confirm": "account"}).status_code == 404
    elif case == "cancelled":
        assert bobs_phone.get(url("qrauth_approve", token))["Location"] == INVALID
        collect = reverse("qrauth_collect", args=[order_id])
        assert computer.post(collect, {"confirm": "account"}).status_code == 200
        assert user_of(computer) is None
    else:
        fresh = approve_token(computer, order_id, static)
        finish_approve(bobs_phone, computer, order_id, fresh, bob)
    assert_no_token_logged(qrauth_logs, [*parts_of(token), order_id], codes_of(token))


@settings(FUZZ, max_examples=40)
@given(requester=browser_headers, approver=browser_headers)
def test_any_requesting_browser_shows_safely_on_the_approving_phone(
    requester, approver, bob, bobs_phone
):
    """The phone shows the other browser's kind and address (REMOTE_ADDR, which
    a proxy may fill from X-Forwarded-For): any text, escaped, never a 5xx."""
    forget_rate_limits()  # each example as the first from its address
    computer = Client()
    signin = check(computer.get(reverse("qrauth_signin"), **requester))
    order_id = signin.context["auth_code"]
    path = url("qrauth_approve", frame_of(computer, order_id))
    assert check(bobs_phone.get(path, **approver))["Location"] == RESUME
    page = check(bobs_phone.get(RESUME, **approver))
    assert "qrauth/approve.html" in [t.name for t in page.templates]
    if requester.get("REMOTE_ADDR"):
        assert escape(requester["REMOTE_ADDR"]) in page.content.decode()
    number = poll(computer, order_id)["number"]
    answer = check(bobs_phone.post(path, {"action": "approve", "number": number}, **approver))
    assert "Approved" in answer.content.decode()
    collect = reverse("qrauth_collect", args=[order_id])
    assert check(computer.post(collect, {"confirm": "account"})).status_code == 302
    assert user_of(computer) == str(bob.pk)


# -- next -----------------------------------------------------------------------------------


def assert_safe_next_in_form(response) -> None:
    """A page that carries ``next`` into its form carries a safe one or none."""
    if response.status_code == 200 and response.context is not None and "next" in response.context:
        value = response.context["next"]
        assert value == "" or url_has_allowed_host_and_scheme(value, {"testserver"}), value


@settings(FUZZ, max_examples=100)
@given(next_url=next_values)
def test_a_signed_in_browser_at_signin_is_never_sent_off_site(next_url, bob):
    forget_rate_limits()  # each example as the first from its address
    response = check(browser_of(bob).get(reverse("qrauth_signin"), {"next": next_url}))
    assert response.status_code == 302
    assert response["Location"] in (iri_to_uri(next_url.strip()), LOGIN_REDIRECT)
    anonymous = check(Client().get(reverse("qrauth_signin"), {"next": next_url}))
    assert_safe_next_in_form(anonymous)


@settings(FUZZ, max_examples=60)
@given(
    next_url=next_values,
    where=st.sampled_from(["form", "query", "both"]),
    action=st.sampled_from(["", "decline"]),
)
def test_the_handoff_scan_post_never_redirects_off_site(next_url, where, action, desktop, alice):
    forget_rate_limits()  # each example as the first from its address
    order_id = open_handoff(desktop)
    path = url("qr_code_login", frame_of(desktop, order_id))
    phone = Client()
    query = {"next": next_url} if where in ("query", "both") else {}
    moved = check(phone.get(path, query))["Location"]
    assert urlsplit(moved).path == CONTINUE
    assert_safe_next_in_form(check(phone.get(moved)))  # the next the scan URL passed on
    assert_safe_next_in_form(check(phone.get(CONTINUE, query)))
    fields = {"next": next_url} if where in ("form", "both") else {}
    if action:
        fields["action"] = action
    if query:
        path += "?" + urlencode(query)
    response = check(phone.post(path, fields))
    assert response.status_code == 302
    assert user_of(phone) == (None if action else str(alice.pk))


@settings(FUZZ, max_examples=50)
@given(next_url=next_values, approved=st.booleans())
def test_collect_never_redirects_off_site(next_url, approved, bob, bobs_phone):
    forget_rate_limits()  # each example as the first from its address
    computer = Client()
    page = check(computer.get(reverse("qrauth_signin"), {"next": next_url}))
    assert_safe_next_in_form(page)
    order_id = page.context["auth_code"]
    if approved:
        approve_with(bobs_phone, computer, order_id, frame_of(computer, order_id))
    response = check(computer.post(reverse("qrauth_collect", args=[order_id]), {"next": next_url}))
    if approved:  # "Continue as bob?", and its Continue
        assert response.status_code == 200
        assert_safe_next_in_form(response)
        assert user_of(computer) is None
        fields = {"next": next_url, "confirm": "account"}
        response = check(computer.post(reverse("qrauth_collect", args=[order_id]), fields))
        assert response.status_code == 302
        assert user_of(computer) == str(bob.pk)
    else:
        assert response.status_code == 200
        assert_safe_next_in_form(response)
        assert user_of(computer) is None


@settings(FUZZ, max_examples=50)
@given(next_url=next_values, where=st.sampled_from(["form", "query"]))
def test_step_up_never_redirects_off_site(next_url, where, alice):
    forget_rate_limits()  # each example as the first from its address
    browser = browser_of(alice)
    query = {"next": next_url} if where == "query" else {}
    assert_safe_next_in_form(check(browser.get(reverse("qrauth_step_up"), query)))
    path = reverse("qrauth_step_up") + ("?" + urlencode(query) if query else "")
    fields = {"password": ALICE_PASSWORD, **({"next": next_url} if where == "form" else {})}
    response = check(browser.post(path, fields))
    assert response.status_code == 302
    assert user_of(browser) == str(alice.pk)


@pytest.mark.parametrize("view", ["qrauth_signin", "qr_code_login", "qrauth_collect"])
def test_a_next_django_will_not_redirect_to_falls_back_to_the_default(
    view, desktop, alice, bob, bobs_phone
):
    """Whitespace-padded: Django's check strips it and passes it, the redirect
    itself refuses its length."""
    padded = " " * 17_000 + "/account/"
    if view == "qrauth_signin":
        response = browser_of(bob).get(reverse(view), {"next": padded})
    elif view == "qr_code_login":
        order_id = open_handoff(desktop)
        response = Client().post(url(view, frame_of(desktop, order_id)), {"next": padded})
    else:
        computer = Client()
        order_id = open_signin(computer)
        approve_with(bobs_phone, computer, order_id, frame_of(computer, order_id))
        fields = {"next": padded, "confirm": "account"}
        response = computer.post(reverse(view, args=[order_id]), fields)
    assert response.status_code == 302
    assert response["Location"] in ("/account/", "%20" * 17_000 + "/account/", LOGIN_REDIRECT)
