"""Payment schemas."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from litestar_payguard.models import Payment as PaymentModel
from litestar_payguard.models import PaymentMode, PaymentSnapshot, PaymentStatus
from litestar_payguard.schemas.base import CamelStruct

__all__ = ("Payment", "PaymentBrief", "payment_brief", "payment_view")


class PaymentBrief(CamelStruct):
    """The payment inside a session."""

    id: UUID
    amount: int
    currency: str
    status: PaymentStatus
    gateway_payment_id: str | None = None
    failure_code: str | None = None


class Payment(CamelStruct):
    """A payment, whole."""

    id: UUID
    status: PaymentStatus
    customer_id: str
    bundle_id: str
    plan_name: str | None
    amount: int
    currency: str
    amount_refunded: int
    mode: PaymentMode
    """``test`` (no real money) or ``live``: the merchant's mode when the payment was made."""
    gateway: str
    gateway_payment_id: str | None
    failure_code: str | None
    failure_message: str | None
    metadata: dict[str, str]
    created_at: datetime
    order_id: str | None = None
    """The merchant's reference (merchant API)."""
    method: str | None = None
    gateway_order_id: str | None = None
    amount_refunding: int = 0
    """Refunds admitted and not yet processed."""
    needs_attention: bool = False
    """payguard gave up on the fulfilment hook: an admin must look."""
    attention_reason: str | None = None
    """Why (the hook's last error)."""


def payment_brief(payment: PaymentModel | PaymentSnapshot) -> PaymentBrief:
    """Render a payment inside a session."""
    return PaymentBrief(
        id=payment.id,
        amount=payment.amount,
        currency=payment.currency,
        status=payment.status,
        gateway_payment_id=payment.gateway_payment_id,
        failure_code=payment.failure_code,
    )


def payment_view(payment: PaymentModel) -> Payment:
    """Render a payment whole."""
    return Payment(
        id=payment.id,
        status=payment.status,
        customer_id=payment.customer_id,
        bundle_id=payment.bundle_id,
        plan_name=payment.plan_name,
        amount=payment.amount,
        currency=payment.currency,
        amount_refunded=payment.amount_refunded,
        mode=payment.mode,
        gateway=payment.gateway,
        gateway_payment_id=payment.gateway_payment_id,
        failure_code=payment.failure_code,
        failure_message=payment.failure_message,
        metadata=payment.extra,
        created_at=payment.created_at,
        order_id=payment.order_id,
        method=payment.method,
        gateway_order_id=payment.gateway_order_id,
        amount_refunding=payment.amount_refunding,
        needs_attention=payment.needs_attention,
        attention_reason=payment.attention_reason,
    )
