"""Interop with the reference Python library, ``standardwebhooks`` (PyPI), both ways, and the published vector.

A merchant verifying payguard's deliveries with any Standard Webhooks library is what the format is for: the
reference library must accept what payguard signs, and payguard's ``verify`` what the reference library signs.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks
from hypothesis import given, settings
from hypothesis import strategies as st

from litestar_payguard.webhooks import WebhookVerificationError, generate_secret, signature_header, verify
from tests.unit.webhooks import vector

secrets_ = st.binary(min_size=24, max_size=64).map(lambda raw: "whsec_" + base64.b64encode(raw).decode())
ids = st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True)
payload_data = st.dictionaries(st.text(max_size=20), st.integers() | st.text(max_size=20) | st.none(), max_size=5)


def event_body(data: dict[str, Any]) -> bytes:
    return json.dumps({"type": "payment.succeeded", "timestamp": "2026-12-03T07:00:00Z", "data": data}).encode()


def test_the_reference_library_produces_the_published_vector_too() -> None:
    """The vector is the reference library's own, so matching it is matching the library."""
    reference = standardwebhooks.Webhook(vector.SECRET)
    at = datetime.fromtimestamp(vector.TIMESTAMP, tz=UTC)
    assert reference.sign(vector.MSG_ID, at, vector.PAYLOAD.decode()) == vector.SIGNATURE


def test_verify_accepts_the_published_vector_at_its_time_and_refuses_it_later() -> None:
    given_headers = {
        "webhook-id": vector.MSG_ID,
        "webhook-timestamp": str(vector.TIMESTAMP),
        "webhook-signature": vector.SIGNATURE,
    }
    with pytest.raises(WebhookVerificationError, match="not a Standard Webhooks event"):
        # The vector's payload is {"test": …}: authentic, but no event; the signature passed, the shape did not.
        verify(vector.PAYLOAD, given_headers, vector.SECRET, now=lambda: vector.TIMESTAMP)
    with pytest.raises(WebhookVerificationError, match="old"):
        verify(vector.PAYLOAD, given_headers, vector.SECRET, now=lambda: vector.TIMESTAMP + 301)
    tampered = {**given_headers, "webhook-signature": vector.SIGNATURE.replace("g0hM", "g1hM")}
    with pytest.raises(WebhookVerificationError, match="no v1 signature"):
        verify(vector.PAYLOAD, tampered, vector.SECRET, now=lambda: vector.TIMESTAMP)


@settings(max_examples=50)
@given(secret=secrets_, msg_id=ids, data=payload_data)
def test_the_reference_library_accepts_what_payguard_signs(secret: str, msg_id: str, data: dict[str, Any]) -> None:
    body = event_body(data)
    at = int(time.time())
    given_headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(at),
        "webhook-signature": signature_header(msg_id, at, body, [secret]),
    }
    assert standardwebhooks.Webhook(secret).verify(body, given_headers)["data"] == data
    assert standardwebhooks.Webhook(secret.removeprefix("whsec_")).verify(body, given_headers)["data"] == data


def test_the_reference_library_accepts_either_signature_during_a_rotation() -> None:
    old, new = generate_secret(24), generate_secret(64)
    body = event_body({"paymentId": "p_1"})
    at = int(time.time())
    header = signature_header("msg_rotating", at, body, [new, old])
    given_headers = {"webhook-id": "msg_rotating", "webhook-timestamp": str(at), "webhook-signature": header}
    for secret in (old, new):
        assert standardwebhooks.Webhook(secret).verify(body, given_headers)["data"] == {"paymentId": "p_1"}
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(generate_secret()).verify(body, given_headers)


def test_the_reference_library_refuses_a_payguard_delivery_that_was_tampered_with() -> None:
    """The acceptance above is not vacuous: the reference check fails on a changed byte."""
    secret, body, at = generate_secret(), event_body({"amount": 100}), int(time.time())
    given_headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(at),
        "webhook-signature": signature_header("msg_1", at, body, [secret]),
    }
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body.replace(b"100", b"900"), given_headers)


@settings(max_examples=50)
@given(secret=secrets_, msg_id=ids, data=payload_data, offset=st.integers(-300, 300))
def test_verify_accepts_what_the_reference_library_signs(
    secret: str, msg_id: str, data: dict[str, Any], offset: int
) -> None:
    body = event_body(data)
    at = 1_800_000_000
    signed_at = datetime.fromtimestamp(at + offset, tz=UTC)
    given_headers = {
        "Webhook-Id": msg_id,
        "Webhook-Timestamp": str(at + offset),
        "Webhook-Signature": standardwebhooks.Webhook(secret).sign(msg_id, signed_at, body.decode()),
    }
    event = verify(body, given_headers, secret, now=lambda: at)
    assert (event.id, event.data, event.raw) == (msg_id, data, body)
    with pytest.raises(WebhookVerificationError):
        verify(body, given_headers, generate_secret(), now=lambda: at)
