"""ASGI entry point for uvicorn: ``benchsite.asgi:application`` (bench/push.py)."""

from django.core.asgi import get_asgi_application

application = get_asgi_application()
