"""Razorpay's signatures (Checkout's and webhooks') and its webhook events: verification and reading.

The signature helpers are public: the fake Razorpay server in :mod:`litestar_payguard.testing.razorpay` signs
with them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from litestar_payguard.exceptions import InvalidSignatureError
from litestar_payguard.gateways.base import GatewayWebhook, WebhookKind
from litestar_payguard.gateways.razorpay_entities import number_field, text_field

__all__ = (
    "checkout_signature",
    "event_time",
    "parse_webhook",
    "signatures_match",
    "webhook_of",
    "webhook_signature",
)

_WEBHOOK_KINDS: Final = {
    "payment.captured": WebhookKind.PAYMENT_SUCCEEDED,
    "payment.authorized": WebhookKind.PAYMENT_AUTHORIZED,
    "order.paid": WebhookKind.PAYMENT_SUCCEEDED,
    "payment.failed": WebhookKind.PAYMENT_FAILED,
    "refund.processed": WebhookKind.REFUND_SUCCEEDED,
    "refund.failed": WebhookKind.REFUND_FAILED,
}


def checkout_signature(key_secret: str, order_id: str, payment_id: str) -> str:
    """Return the signature Razorpay Checkout hands the browser: HMAC-SHA256 of ``order_id|payment_id``, hex."""
    return hmac.new(key_secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


def webhook_signature(webhook_secret: str, body: bytes) -> str:
    """Return the ``X-Razorpay-Signature`` of a webhook: HMAC-SHA256 of the raw body, hex."""
    return hmac.new(webhook_secret.encode(), body, hashlib.sha256).hexdigest()


def signatures_match(expected: str, given: str | None) -> bool:
    """Compare a signature in constant time; a missing or empty one never matches."""
    if not given:
        return False
    # compare_digest refuses non-ASCII str, and a header may carry anything: compare bytes instead.
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


def parse_webhook(webhook_secret: str, headers: Mapping[str, str], body: bytes) -> GatewayWebhook:
    """Verify ``X-Razorpay-Signature`` on the raw body with ``webhook_secret``, then read the event.

    The signature covers the raw body only; ``X-Razorpay-Event-Id`` is not signed, so anyone holding a genuine
    delivery can resend it with another id. payguard keys its dedupe on the body for that reason.

    Raises:
        InvalidSignatureError: The signature is missing or wrong, or the body is not a Razorpay event.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    signature = lowered.get("x-razorpay-signature")
    if not signature:
        msg = "The webhook has no X-Razorpay-Signature header"
        raise InvalidSignatureError(msg)
    if not signatures_match(webhook_signature(webhook_secret, body), signature):
        msg = "The webhook's X-Razorpay-Signature does not match its body"
        raise InvalidSignatureError(msg)
    try:
        event = json.loads(body)
    except ValueError as exc:
        msg = "The webhook body is not JSON"
        raise InvalidSignatureError(msg) from exc
    created_at = event_time(event) if isinstance(event, dict) else None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str) or created_at is None:
        msg = "The webhook body is not a Razorpay event"
        raise InvalidSignatureError(msg)
    # Unsigned: kept for reference only (payguard deduplicates on the signed body).
    event_id = lowered.get("x-razorpay-event-id") or text_field(event, "id")
    if not event_id:
        msg = "The webhook has no event id (X-Razorpay-Event-Id)"
        raise InvalidSignatureError(msg)
    return webhook_of(event_id, event, created_at)


def _entity(event: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The ``payload.<name>.entity`` object of an event, empty when absent."""
    payload = event.get("payload")
    wrapper = payload.get(name) if isinstance(payload, dict) else None
    entity = wrapper.get("entity") if isinstance(wrapper, dict) else None
    return entity if isinstance(entity, dict) else {}


def event_time(event: Mapping[str, Any]) -> datetime | None:
    """When Razorpay created the event (its ``created_at``, Unix seconds), or ``None`` if it is not one."""
    created = number_field(event, "created_at")
    if created is None:
        return None
    try:
        return datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError):  # seconds no calendar holds
        return None


def webhook_of(event_id: str, event: Mapping[str, Any], created_at: datetime) -> GatewayWebhook:
    """A verified Razorpay event, as payguard's gateway webhook."""
    event_type = str(event["event"])
    kind = _WEBHOOK_KINDS.get(event_type, WebhookKind.OTHER)
    payment, refund, order = _entity(event, "payment"), _entity(event, "refund"), _entity(event, "order")
    failed = kind in {WebhookKind.PAYMENT_FAILED, WebhookKind.REFUND_FAILED}
    source = refund if event_type.startswith("refund.") else payment
    return GatewayWebhook(
        event_id=event_id,
        event_type=event_type,
        kind=kind,
        gateway_payment_id=text_field(payment, "id") or text_field(refund, "payment_id"),
        gateway_order_id=text_field(payment, "order_id") or text_field(order, "id"),
        gateway_refund_id=text_field(refund, "id"),
        amount=number_field(source, "amount") if source else number_field(order, "amount_paid"),
        failure_code=text_field(source, "error_code") if failed else None,
        failure_message=text_field(source, "error_description") if failed else None,
        refund_receipt=text_field(refund, "receipt"),
        created_at=created_at,
    )
