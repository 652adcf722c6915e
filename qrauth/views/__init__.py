"""Views of qrauth, one module per flow and side."""

from .approve import approve, approve_resume
from .confirm import handoff_decide, handoff_finish, handoff_wait
from .events import code_events, wait_events
from .handoff import handoff_continue, invalid_code, qr_code_login, qr_code_page, qr_code_picture
from .password import step_up
from .signin import collect_signin, signin, signin_picture
from .status import cancel_code, code_status

__all__ = [
    "approve",
    "approve_resume",
    "cancel_code",
    "code_events",
    "code_status",
    "collect_signin",
    "handoff_continue",
    "handoff_decide",
    "handoff_finish",
    "handoff_wait",
    "invalid_code",
    "qr_code_login",
    "qr_code_page",
    "qr_code_picture",
    "signin",
    "signin_picture",
    "step_up",
    "wait_events",
]
