"""Reading Razorpay: its answers, payments, refunds and webhook events, and its signatures.

Pure functions over Razorpay's JSON, used by :class:`~litestar_payguard.gateways.razorpay.RazorpayGateway`; the
signature helpers are public (the fake Razorpay server in :mod:`litestar_payguard.testing` signs with them).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from litestar_payguard.exceptions import GatewayError
from litestar_payguard.gateways.base import GatewayStatus, GatewayWebhook, PaymentOutcome, RefundOutcome, WebhookKind

__all__ = (
    "MISMATCH",
    "Reply",
    "checkout_signature",
    "error_of",
    "event_time",
    "has_payment",
    "items",
    "ok",
    "payment_outcome",
    "refund_outcome",
    "refund_refused",
    "select_payment",
    "signatures_match",
    "text_field",
    "webhook_of",
    "webhook_signature",
)

_PAYMENT_STATUS: Final = {
    "created": GatewayStatus.PENDING,
    "authorized": GatewayStatus.PENDING,
    "captured": GatewayStatus.SUCCEEDED,
    # A fully refunded payment was captured first: the charge itself succeeded.
    "refunded": GatewayStatus.SUCCEEDED,
    "failed": GatewayStatus.FAILED,
}
_REFUND_STATUS: Final = {
    "pending": GatewayStatus.PENDING,
    "processed": GatewayStatus.SUCCEEDED,
    "failed": GatewayStatus.FAILED,
}
_WEBHOOK_KINDS: Final = {
    "payment.captured": WebhookKind.PAYMENT_SUCCEEDED,
    "payment.authorized": WebhookKind.PAYMENT_AUTHORIZED,
    "order.paid": WebhookKind.PAYMENT_SUCCEEDED,
    "payment.failed": WebhookKind.PAYMENT_FAILED,
    "refund.processed": WebhookKind.REFUND_SUCCEEDED,
    "refund.failed": WebhookKind.REFUND_FAILED,
}
# Razorpay reports a refused request (bad amount, unknown id, …) with this code and HTTP 400.
_REFUSED: Final = "BAD_REQUEST_ERROR"
MISMATCH: Final = PaymentOutcome(
    status=GatewayStatus.FAILED,
    failure_code="payment_order_mismatch",
    failure_message="The gateway payment does not belong to this order.",
)


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


class Reply(NamedTuple):
    """A Razorpay answer that is not a server error: its status code and JSON object."""

    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        """Razorpay did what was asked (HTTP 2xx)."""
        return self.status < 300

    @property
    def refused(self) -> bool:
        """Razorpay understood the request and said no (HTTP 400 ``BAD_REQUEST_ERROR``)."""
        return self.status == 400 and self.error[0] == _REFUSED

    @property
    def error(self) -> tuple[str, str]:
        """Razorpay's error code and description, from ``{"error": {"code": …, "description": …}}``."""
        error = self.body.get("error")
        if not isinstance(error, dict):
            return "UNKNOWN_ERROR", f"HTTP {self.status}"
        return str(error.get("code") or "UNKNOWN_ERROR"), str(error.get("description") or f"HTTP {self.status}")


def error_of(reply: Reply, operation: str) -> GatewayError:
    """The error for an answer the caller cannot use, naming the operation and Razorpay's code."""
    code, description = reply.error
    return GatewayError(f"Razorpay {operation} was refused (HTTP {reply.status}): {code}: {description}")


def ok(reply: Reply, operation: str) -> Reply:
    """The answer, if Razorpay did what was asked; otherwise raise :func:`error_of`'s error."""
    if not reply.ok:
        raise error_of(reply, operation)
    return reply


def items(reply: Reply, operation: str) -> list[dict[str, Any]]:
    """The ``items`` of a collection answer."""
    items = reply.body.get("items")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        msg = f"Razorpay {operation} answered a collection without items"
        raise GatewayError(msg)
    return items


def has_payment(payments: Sequence[Mapping[str, Any]], payment_id: str) -> bool:
    """Whether one of an order's payments is ``payment_id``."""
    return any(payment.get("id") == payment_id for payment in payments)


def select_payment(payments: Sequence[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    """Pick the payment that speaks for a non-empty list of an order's payments.

    A captured payment always wins, so a second payment is never captured on a paid order; then the one
    asked for, unless it failed while another one of the order is authorized (the customer tried again in the
    checkout: that one must be captured, not reported as the decline); then the most advanced one (Razorpay
    lists the newest first).
    """
    for payment in payments:
        if payment.get("status") in {"captured", "refunded"}:
            return payment
    if wanted is not None:
        asked = next(payment for payment in payments if payment.get("id") == wanted)
        retried = next((payment for payment in payments if payment.get("status") == "authorized"), None)
        return retried if asked.get("status") == "failed" and retried is not None else asked
    for status in ("authorized", "created", "failed"):
        for payment in payments:
            if payment.get("status") == status:
                return payment
    return payments[0]


def payment_outcome(payment: Mapping[str, Any], operation: str) -> PaymentOutcome:
    """What a Razorpay payment entity says about our payment."""
    status = _PAYMENT_STATUS.get(str(payment.get("status")))
    payment_id = text_field(payment, "id")
    if status is None or payment_id is None:
        msg = f"Razorpay {operation} answered a payment with an unknown status or no id"
        raise GatewayError(msg)
    if status is GatewayStatus.FAILED:
        return PaymentOutcome(
            status=status,
            gateway_payment_id=payment_id,
            failure_code=text_field(payment, "error_code") or "payment_failed",
            failure_message=text_field(payment, "error_description"),
        )
    return PaymentOutcome(status=status, gateway_payment_id=payment_id)


def refund_outcome(refund: Mapping[str, Any]) -> RefundOutcome:
    """What a Razorpay refund entity says about our refund."""
    status = _REFUND_STATUS.get(str(refund.get("status")))
    refund_id = text_field(refund, "id")
    if status is None or refund_id is None:
        msg = "Razorpay refund answered a refund with an unknown status or no id"
        raise GatewayError(msg)
    if status is GatewayStatus.FAILED:
        return RefundOutcome(status=status, gateway_refund_id=refund_id, failure_code="refund_failed")
    return RefundOutcome(status=status, gateway_refund_id=refund_id)


def refund_refused(reply: Reply) -> RefundOutcome:
    """A refund Razorpay refused (a final failure, with Razorpay's code and description)."""
    code, description = reply.error
    return RefundOutcome(status=GatewayStatus.FAILED, failure_code=code, failure_message=description)


def text_field(obj: Mapping[str, Any], key: str) -> str | None:
    """A non-empty string field, or ``None``."""
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _number(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _entity(event: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The ``payload.<name>.entity`` object of an event, empty when absent."""
    payload = event.get("payload")
    wrapper = payload.get(name) if isinstance(payload, dict) else None
    entity = wrapper.get("entity") if isinstance(wrapper, dict) else None
    return entity if isinstance(entity, dict) else {}


def event_time(event: Mapping[str, Any]) -> datetime | None:
    """When Razorpay created the event (its ``created_at``, Unix seconds), or ``None`` if it is not one."""
    created = _number(event, "created_at")
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
        amount=_number(source, "amount") if source else _number(order, "amount_paid"),
        failure_code=text_field(source, "error_code") if failed else None,
        failure_message=text_field(source, "error_description") if failed else None,
        refund_receipt=text_field(refund, "receipt"),
        created_at=created_at,
    )
