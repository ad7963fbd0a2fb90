"""Reading Razorpay: its answers, payments and refunds.

Pure functions over Razorpay's JSON, used by :class:`~litestar_payguard.gateways.razorpay.RazorpayGateway`;
its signatures and webhook events are read in :mod:`litestar_payguard.gateways.razorpay_webhooks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from litestar_payguard.exceptions import GatewayError
from litestar_payguard.gateways.base import GatewayStatus, PaymentOutcome, RefundOutcome

__all__ = (
    "MISMATCH",
    "Reply",
    "error_of",
    "has_payment",
    "items",
    "number_field",
    "ok",
    "payment_outcome",
    "refund_outcome",
    "refund_refused",
    "select_payment",
    "text_field",
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
# Razorpay reports a refused request (bad amount, unknown id, …) with this code and HTTP 400.
_REFUSED: Final = "BAD_REQUEST_ERROR"
MISMATCH: Final = PaymentOutcome(
    status=GatewayStatus.FAILED,
    failure_code="payment_order_mismatch",
    failure_message="The gateway payment does not belong to this order.",
)


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


def number_field(obj: Mapping[str, Any], key: str) -> int | None:
    """An integer field (not a bool), or ``None``."""
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
