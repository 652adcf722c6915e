"""The test site as an ASGI application, for uvicorn in the push tests
(tests/test_push_servers.py, tests/test_push_browser.py): Django's, with
the static files served too (qrauth's page.js, as a browser needs them)."""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

application = ASGIStaticFilesHandler(get_asgi_application())
