"""Every state of every flow has a sentence for people."""

from __future__ import annotations

import pytest

from qrauth import store
from qrauth import wording as messages

STORED_STATES = [
    store.PENDING,
    store.SCANNED,
    store.APPROVED,
    store.CONSUMED,
    store.CANCELLED,
    store.DENIED,
    store.WRONG_NUMBER,
    store.REFUSED,
    None,
]


@pytest.mark.parametrize("flow", ["handoff", "approve"])
@pytest.mark.parametrize("stored", STORED_STATES)
def test_every_state_has_a_message(flow, stored):
    answer = messages.describe(stored, "Safari on iOS", flow, "42")
    assert answer["state"] in ("pending", "complete", "failed")
    assert answer["message"] and "{" not in answer["message"]


def test_the_number_is_in_the_message_only_while_scanned():
    assert "42" in messages.describe(store.SCANNED, "", "approve", "42")["message"]
    assert "42" not in messages.describe(store.PENDING, "", "approve", "")["message"]


@pytest.mark.parametrize(
    ("device", "phrase"),
    [
        ("Safari on iOS", "a phone (Safari on iOS)"),
        ("Firefox on Windows", "another device (Firefox on Windows)"),
        ("", "another device"),
    ],
)
def test_the_device_is_named_for_people(device, phrase):
    assert phrase in messages.describe(store.SCANNED, device, "handoff")["message"]


def test_unavailable_is_the_same_for_both_flows():
    assert messages.outcome("failed", "unavailable", flow="approve") == messages.outcome(
        "failed", "unavailable"
    )


@pytest.mark.parametrize(
    ("stored", "tone"),
    [
        (store.PENDING, ""),
        (store.SCANNED, "info"),
        (store.APPROVED, "success"),
        (store.CONSUMED, "success"),
        (store.DENIED, "failure"),
        (store.WRONG_NUMBER, "failure"),
        (store.CANCELLED, "failure"),
        (None, "failure"),
    ],
)
def test_each_state_has_a_tone_for_the_eye(stored, tone):
    assert messages.describe(stored, "", "approve")["tone"] == tone


def test_an_outage_is_a_warning_not_a_failure():
    assert messages.outcome("failed", "unavailable")["tone"] == "warning"
