"""Keeping scan tokens out of what Django logs, and mails to ADMINS.

Django logs the path of some answers itself: a 4xx or 5xx on
``django.request``, a CSRF failure on ``django.security.csrf``, a
suspicious request on ``django.security.<its kind>``, every request on
``django.server`` (runserver). With an error it passes the request, which
AdminEmailHandler mails with the traceback's variables. A scan URL's path is
a token that may still work, so the app puts this filter on those loggers
(see apps.py); a site can add it to its own handlers too:
``"filters": {"qrauth": {"()": "qrauth.logs.RedactScanTokens"}}``.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.views.debug import get_exception_reporter_filter

__all__ = ["DJANGO_LOGGERS", "RedactScanTokens"]

# Django logs a SuspiciousOperation on "django.security." + its class name,
# at ERROR, with the request: mailed to ADMINS like a 500.
_SUSPICIOUS = (
    "DisallowedHost",
    "DisallowedRedirect",
    "RequestDataTooBig",
    "SuspiciousFileOperation",
    "SuspiciousMultipartForm",
    "SuspiciousOperation",
    "SuspiciousSession",
    "TooManyFieldsSent",
    "TooManyFilesSent",
)
DJANGO_LOGGERS = (
    "django.request",
    "django.security.csrf",
    "django.server",
    *(f"django.security.{kind}" for kind in _SUSPICIOUS),
)

# <order id>.<static code> or <order id>.<elapsed>.<qr_auth_code>, and
# anything near them (a client that mangled the URL still held the token):
# an order-id-shaped segment, a dot, and the rest of that path segment.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}\.[^/\s?#]*")
# The code of a well-formed token: a variable may hold it alone.
_CODE = re.compile(r"[A-Za-z0-9_-]{22}\.(?:[0-9]+\.)?([A-Za-z0-9_-]{16,})")
REDACTED = "<qrauth token>"
# A Django session key (32 of a-z0-9), alone or in a cache key or file name.
# A hand-off scan loads the issuing desktop's session: its key is in the
# variables below (a query's parameters), as good as that desktop's cookie.
_SESSION_KEY = re.compile(r"[a-z0-9]{32,}")
_SESSION_KEY_REDACTED = "<session key>"


class RedactScanTokens(logging.Filter):
    """Replace scan tokens in a record's message with ``<qrauth token>``,
    and its request (a qrauth view's, or any holding a token) with a copy
    whose error report shows none: not in the URL, headers, query, form,
    cookies, nor the traceback's variables."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN.sub(REDACTED, message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        _redact_request(record)
        return True


def _redact_request(record: logging.LogRecord) -> None:
    request = getattr(record, "request", None)  # django.server's is a socket
    if not isinstance(request, HttpRequest) or _is_redacted(request):
        return
    texts = "\n".join(_texts_of(request))
    if not (_TOKEN.search(texts) or _is_qrauth_view(request)):
        return
    try:
        record.request = _redacted_request(request, _redactor(_CODE.findall(texts)))
    except Exception:  # a log call must not fail; the token must not pass either
        record.request = None


def _is_redacted(request: HttpRequest) -> bool:
    return isinstance(getattr(request, "exception_reporter_filter", None), _TokenFreeReports)


def _is_qrauth_view(request: HttpRequest) -> bool:
    # Its request may hold no token while its variables do (a code being drawn).
    view = getattr(getattr(request, "resolver_match", None), "func", None)
    return str(getattr(view, "__module__", None)).startswith("qrauth.")


def _texts_of(request: HttpRequest) -> list[str]:
    texts = [request.path, *(value for value in request.META.values() if isinstance(value, str))]
    post = vars(request).get("_post")  # a body already read: never parse one here
    if isinstance(post, MultiValueDict):
        texts += [text for pair in post.lists() for text in (pair[0], *pair[1])]
    return [text for text in texts if isinstance(text, str)]


def _redactor(codes: Iterable[str]) -> Callable[[str], str]:
    pattern = re.compile("|".join([_TOKEN.pattern, *map(re.escape, sorted(set(codes)))]))
    return functools.partial(pattern.sub, REDACTED)


def _redacted_request(request: HttpRequest, redact: Callable[[str], str]) -> HttpRequest:
    """A shallow copy of ``request`` without tokens wherever a report looks."""
    redacted = copy.copy(request)
    redacted.path, redacted.path_info = redact(request.path), redact(request.path_info)
    redacted.META = _redacted_dict(request.META, redact)
    if "environ" in vars(request):  # WSGI: META and environ are one dict
        redacted.environ = redacted.META
    redacted.GET = _redacted_multi(lambda: request.GET, redact)
    redacted.COOKIES = _redacted_dict(request.COOKIES, redact)
    inner = get_exception_reporter_filter(request)  # the site's, if it has one
    redacted.exception_reporter_filter = _TokenFreeReports(inner, redact)
    return redacted


def _redacted_dict(values: dict[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    return {
        key: redact(value) if isinstance(value, str) else value for key, value in values.items()
    }


def _redacted_multi(read: Callable[[], Any], redact: Callable[[str], str]) -> MultiValueDict:
    try:
        multi = read()
        lists = multi.lists()
    except Exception:  # a query or form Django refused (too many fields): show none
        return MultiValueDict()
    return MultiValueDict(
        {
            redact(key): [redact(value) if isinstance(value, str) else value for value in values]
            for key, values in lists
        }
    )


class _TokenFreeReports:
    """The exception reporter filter of a redacted request: the one Django
    would use, with tokens taken out of the form data and the traceback's
    variables it lets through (the request's own parts are redacted), and
    session keys out of those variables."""

    def __init__(self, inner: Any, redact: Callable[[str], str]) -> None:
        self._inner, self._redact = inner, redact

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get_post_parameters(self, request: HttpRequest) -> MultiValueDict:
        return _redacted_multi(lambda: self._inner.get_post_parameters(request), self._redact)

    def get_traceback_frame_variables(self, request: HttpRequest, tb_frame: Any) -> list:
        variables = self._inner.get_traceback_frame_variables(request, tb_frame)
        return [(name, _shown(value, self._redact)) for name, value in variables]


class _Redacted:
    """Stands in for a variable whose repr held a token: the report shows
    its repr, redacted."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text


def _shown(value: Any, redact: Callable[[str], str]) -> Any:
    try:
        text = repr(value)
    except Exception:  # the report says it could not show it
        return value
    redacted = _SESSION_KEY.sub(_SESSION_KEY_REDACTED, redact(text))
    return value if redacted == text else _Redacted(redacted)


def install() -> None:
    """Put the filter on Django's own loggers that write request paths, once."""
    for name in DJANGO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactScanTokens) for f in logger.filters):
            logger.addFilter(RedactScanTokens())
