"""``manage.py qrauth_prune_signins``: delete the sign-in records older than
AUTH_QR_CODE_RECORD_RETENTION days, as ``clearsessions`` does for sessions.

Run it daily (cron, a scheduler). A record counts its age from when it last
mattered: a denial or refusal from when it happened, a sign-in from when it
was signed out or its session expired. The record of a device still signed
in is never deleted: the devices page must keep it, so that the device can
be signed out.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ... import signins
from ...conf import settings


class Command(BaseCommand):
    help = (
        "Delete the records of QR code sign-ins older than AUTH_QR_CODE_RECORD_RETENTION "
        "days, but never that of a device still signed in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print how many would go; delete nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = settings.RECORD_RETENTION
        if days is None:
            self.stdout.write("AUTH_QR_CODE_RECORD_RETENTION is None: every record is kept.")
            return
        old = signins.prunable(days)
        if options["dry_run"]:
            self.stdout.write(f"{_records(old.count())} older than {days} days would be deleted.")
            return
        deleted, _by_model = old.delete()
        self.stdout.write(f"Deleted {_records(deleted)} older than {days} days.")


def _records(count: int) -> str:
    return f"{count} sign-in record" + ("" if count == 1 else "s")
