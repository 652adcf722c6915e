"""Keeping scan tokens out of log lines that Django writes.

Django logs the path of some answers itself: a 4xx on ``django.request``,
a CSRF failure on ``django.security.csrf``, every request on
``django.server`` (runserver). A scan URL's path is a token that may still
work, so the app puts this filter on those loggers (see apps.py); a site
can add it to its own handlers too:
``"filters": {"qrauth": {"()": "qrauth.logs.RedactScanTokens"}}``.
"""

from __future__ import annotations

import logging
import re

__all__ = ["DJANGO_LOGGERS", "RedactScanTokens"]

DJANGO_LOGGERS = ("django.request", "django.security.csrf", "django.server")

# <order id>.<static code> or <order id>.<elapsed>.<qr_auth_code>, and
# anything near them (a client that mangled the URL still held the token):
# an order-id-shaped segment, a dot, and the rest of that path segment.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}\.[^/\s?#]*")
REDACTED = "<qrauth token>"


class RedactScanTokens(logging.Filter):
    """Replace scan tokens in a record's message with ``<qrauth token>``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN.sub(REDACTED, message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install() -> None:
    """Put the filter on Django's own loggers that write request paths, once."""
    for name in DJANGO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactScanTokens) for f in logger.filters):
            logger.addFilter(RedactScanTokens())
