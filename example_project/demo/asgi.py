"""The demo as an ASGI application, which ``make demo`` serves with uvicorn
(demo/serve.py): an ASGI server, so its waiting screens hear of a scan or
an approval over an event stream (AUTH_QR_CODE_PUSH "auto") instead of
polling. The static files are served too, as runserver would (DEBUG is on;
a real site serves them with its web server or whitenoise)."""

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

application = ASGIStaticFilesHandler(get_asgi_application())
