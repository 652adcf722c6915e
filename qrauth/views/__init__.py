"""Views of qrauth, one module per flow."""

from .handoff import invalid_code, qr_code_login, qr_code_page, qr_code_picture

__all__ = ["invalid_code", "qr_code_login", "qr_code_page", "qr_code_picture"]
