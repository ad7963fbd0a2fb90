"""Payments: creation and status transitions, each published to the outbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import uuid4

from litestar_payguard.currencies import normalize_currency
from litestar_payguard.exceptions import ConflictError, InvalidRequestError
from litestar_payguard.models import Payment, PaymentStatus
from litestar_payguard.schemas.payments import payment_view
from litestar_payguard.services.outbox import Outbox

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.principal import Principal

__all__ = ("AmountTooLargeError", "InvalidPaymentTransitionError", "PaymentService")

PAYMENT_TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset(
        {
            PaymentStatus.PROCESSING,
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.CANCELLED,
            PaymentStatus.EXPIRED,
        }
    ),
    PaymentStatus.PROCESSING: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}),
    PaymentStatus.SUCCEEDED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
}
"""Every allowed payment transition; anything else is refused."""


class AmountTooLargeError(InvalidRequestError):
    """The amount is above the configured maximum."""

    code = "AMOUNT_TOO_LARGE"
    title = "Amount too large"


class InvalidPaymentTransitionError(ConflictError):
    """The payment cannot move to the requested status from its current one."""

    code = "INVALID_PAYMENT_TRANSITION"
    title = "Invalid payment transition"


class PaymentService:
    """Creates payments and moves them between statuses."""

    __slots__ = ("_config", "_db", "_outbox")

    def __init__(self, db: AsyncSession, config: PayGuardConfig, outbox: Outbox | None = None) -> None:
        self._db = db
        self._config = config
        self._outbox = outbox or Outbox(db, config.clock)

    def check_amount(self, amount: int) -> None:
        """Refuse amounts above ``PayGuardConfig.max_amount``."""
        if amount > self._config.max_amount:
            msg = f"The amount {amount} is above the maximum of {self._config.max_amount} minor units."
            raise AmountTooLargeError(msg, extra={"field": "amount", "maximum": self._config.max_amount})

    def create(
        self,
        owner: Principal,
        *,
        bundle_id: str,
        amount: int,
        currency: str,
        plan_name: str | None,
        metadata: Mapping[str, str],
        at: datetime,
    ) -> Payment:
        """Add a pending payment for the owner's customer to the current transaction."""
        customer_id = owner.require_customer()
        currency = normalize_currency(currency)
        self.check_amount(amount)
        payment = Payment(
            id=uuid4(),
            merchant_id=owner.merchant_id,
            customer_id=customer_id,
            bundle_id=bundle_id,
            plan_name=plan_name,
            amount=amount,
            currency=currency,
            status=PaymentStatus.PENDING,
            gateway=self._config.gateway.name,
            amount_refunded=0,
            extra=dict(metadata),
            created_at=at,
            updated_at=at,
        )
        self._db.add(payment)
        self._publish(payment, "created", at)
        return payment

    def transition(
        self,
        payment: Payment,
        status: PaymentStatus,
        *,
        at: datetime,
        gateway_payment_id: str | None = None,
        failure_code: str | None = None,
        failure_message: str | None = None,
    ) -> None:
        """Move a payment to ``status`` and publish the change.

        Raises:
            InvalidPaymentTransitionError: The move is not in :data:`PAYMENT_TRANSITIONS`.
        """
        if status not in PAYMENT_TRANSITIONS.get(payment.status, frozenset()):
            msg = f"Payment {payment.id} cannot go from {payment.status.value} to {status.value}."
            raise InvalidPaymentTransitionError(msg)
        payment.status = status
        if gateway_payment_id is not None:
            payment.gateway_payment_id = gateway_payment_id
        if failure_code is not None:
            payment.failure_code = failure_code
            payment.failure_message = failure_message
        self._publish(payment, status.value, at)

    def _publish(self, payment: Payment, change: str, at: datetime) -> None:
        self._outbox.record(
            merchant_id=payment.merchant_id,
            type=f"payment.{change}",
            subject_id=payment.id,
            payload=payment_view(payment),
            at=at,
        )
