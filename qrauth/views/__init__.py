"""Views of qrauth, one module per flow and side."""

from .api import (
    api_approve,
    api_approve_answer,
    api_handoff,
    api_handoff_answer,
    api_handoff_finish,
    api_handoff_wait,
    api_schema,
)
from .api_devices import api_device_sign_out, api_devices, api_devices_sign_out_others
from .approve import approve, approve_resume
from .confirm import handoff_decide, handoff_finish, handoff_wait
from .devices import device_sign_out, devices, devices_sign_out_others
from .events import code_events, wait_events
from .handoff import handoff_continue, invalid_code, qr_code_login, qr_code_page, qr_code_picture
from .password import step_up
from .signin import collect_signin, signin, signin_picture
from .status import cancel_code, code_status

__all__ = [
    "api_approve",
    "api_approve_answer",
    "api_device_sign_out",
    "api_devices",
    "api_devices_sign_out_others",
    "api_handoff",
    "api_handoff_answer",
    "api_handoff_finish",
    "api_handoff_wait",
    "api_schema",
    "approve",
    "approve_resume",
    "cancel_code",
    "code_events",
    "code_status",
    "collect_signin",
    "device_sign_out",
    "devices",
    "devices_sign_out_others",
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
