"""The JSON API of the phone's side, for a site's own app (or a single-page
app): the steps of the phone's pages (qrauth/flows/), answered in JSON.

An app scans a QR (an https URL of the site whose last path segment is the
code), looks at it (GET: changes nothing but the "scanned" mark, and hands
out a ``scan`` handle), shows the person what it is about, then answers
with the handle (POST). Same rules, limits and refusals as the pages.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import clock
from ..api_description import site_description
from ..conf import settings
from ..devices import client_ip, device_label, same_network
from ..flows import Outcome, confirmation
from ..flows import approve as approve_steps
from ..flows import handoff as handoff_steps
from ..model import Order, State
from . import responses
from .api_base import ApiError, api_view, json_body
from .approve import age_text
from .confirm import wait_payload

__all__ = [
    "api_approve",
    "api_approve_answer",
    "api_handoff",
    "api_handoff_answer",
    "api_handoff_finish",
    "api_handoff_wait",
    "api_schema",
]

# What the flows' refusals are called in the API (see api_base._ERRORS).
_REFUSALS = {
    "invalid": "invalid_code",
    "stale": "stale_code",
    "taken": "taken",
    "sign_in_first": "not_authenticated",
    "not_allowed": "not_allowed",
    "step_up": "step_up_required",
    "step_up_first": "step_up_required",
    "bad_action": "bad_request",
    "own_code": "own_code",
    "not_declined": "invalid_code",
    "refused": "refused",
}


def _refuse(outcome: Outcome) -> ApiError:
    if outcome.kind == "done":  # this caller answered already
        return ApiError("answered", state=_answer_state(outcome.state))
    return ApiError(_REFUSALS[outcome.kind])


# The approve order's state, as the phone that answered sees it.
_ANSWER_STATES = {
    State.APPROVED: "approved",
    State.CONSUMED: "signed_in",
    State.DENIED: "denied",
    State.WRONG_NUMBER: "wrong_number",
    State.REFUSED: "refused",
}


def _answer_state(state: State | None) -> str:
    return _ANSWER_STATES.get(state, "closed")


@api_view(("GET",), flow=approve_steps.FLOW)
def api_approve(request: HttpRequest, auth_code: str) -> HttpResponse:
    """Look at a scanned approve code: what would be signed in where."""
    looked = approve_steps.look_at_code(request, auth_code)
    if looked.kind != "details":
        raise _refuse(looked)
    return JsonResponse({**_details(request, looked.order), "scan": looked.handle})


def _details(request: HttpRequest, order: Order) -> dict[str, Any]:
    age = max(clock.now() - order.created, 0)
    return {
        "flow": "approve",
        "site": request.get_host(),
        "account": {
            "username": request.user.get_username(),
            "name": responses.display_name(request.user),
        },
        "requester": {
            "device": str(device_label(order.requester)),
            "address": order.requester_ip or None,
            "same_network": same_network(order.requester_ip, client_ip(request)),
        },
        "age_seconds": age,
        "age": age_text(age),
        "expires_in": max(order.created + settings.EXPIRATION_TIME - clock.now(), 0),
        "number_required": bool(order.number),
    }


@api_view(("POST",), flow=approve_steps.FLOW)
def api_approve_answer(request: HttpRequest) -> HttpResponse:
    """Approve (with the number, where one is asked for) or deny."""
    body = json_body(request, "scan", "action", "number")
    answered = approve_steps.answer_scan(request, body["scan"], body["action"], body["number"])
    if answered.kind != "done":
        raise _refuse(answered)
    return JsonResponse({"state": _answer_state(answered.state)})


@api_view(("GET",), flow=handoff_steps.FLOW, headers=False)
def api_handoff(request: HttpRequest, auth_code: str) -> HttpResponse:
    """Look at a scanned hand-off code: whom it would sign this device in as."""
    looked = handoff_steps.look_at_code(request, auth_code)
    if looked.kind != "question":
        raise _refuse(looked)
    switching = looked.signed_in_as
    payload = {
        "flow": "handoff",
        "site": request.get_host(),
        "account": {"name": responses.display_name(looked.account)},
        "signed_in_as": responses.display_name(switching) if switching else None,
        "desktop_confirmation": settings.DESKTOP_CONFIRMATION,
        "scan": looked.handle,
    }
    return JsonResponse(payload)


@api_view(("POST",), flow=handoff_steps.FLOW, headers=False)
def api_handoff_answer(request: HttpRequest) -> HttpResponse:
    """Continue (sign this device in, or ask the desktop first) or decline."""
    body = json_body(request, "scan", "action")
    answered = handoff_steps.answer_scan(request, body["scan"], body["action"])
    return _handoff_answer(answered)


def _handoff_answer(answered: Outcome) -> HttpResponse:
    if answered.kind == "signed_in":
        return JsonResponse({"state": "signed_in", "redirect_url": responses.home_url()})
    if answered.kind == "declined":
        return JsonResponse({"state": "declined"})
    if answered.kind == "waiting":
        return JsonResponse({"state": "waiting", "wait": answered.order_id}, status=202)
    raise _refuse(answered)


@api_view(("GET",), flow=handoff_steps.FLOW, headers=False)
def api_handoff_wait(request: HttpRequest, wait: str) -> HttpResponse:
    """The status of the hand-off this session asked its desktop about."""
    state, expires_in = confirmation.wait_status(request, wait)
    return JsonResponse(wait_payload(state, expires_in))


@api_view(("POST",), flow=handoff_steps.FLOW, headers=False)
def api_handoff_finish(request: HttpRequest, wait: str) -> HttpResponse:
    """Sign this device in, once its desktop allowed it."""
    json_body(request)  # {}: every POST is JSON
    finished = confirmation.finish(request, wait)
    if finished.kind == "waiting":
        hint = wait_payload(finished.state, 0)["hint"]
        raise ApiError("waiting" if hint == "waiting" else "invalid_code", hint=hint)
    return _handoff_answer(finished)


@api_view(("GET",), headers=False)
def api_schema(request: HttpRequest) -> HttpResponse:
    """This API's OpenAPI 3.1 description, with the security schemes this
    site accepts (qrauth/openapi.json is the whole of it)."""
    return JsonResponse(site_description(), json_dumps_params={"ensure_ascii": False})
