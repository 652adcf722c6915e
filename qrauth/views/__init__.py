"""Views of qrauth, one module per flow."""

from .handoff import invalid_code, qr_code_login, qr_code_page, qr_code_picture
from .status import cancel_code, code_status

__all__ = [
    "cancel_code",
    "code_status",
    "invalid_code",
    "qr_code_login",
    "qr_code_page",
    "qr_code_picture",
]
