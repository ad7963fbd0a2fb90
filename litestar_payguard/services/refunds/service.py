"""Refunds: admitted under a lock on the payment, so their sum never exceeds what was captured."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from sqlalchemy import select

from litestar_payguard.exceptions import ConflictError, InvalidRequestError, NotFoundError
from litestar_payguard.models import REFUNDABLE_PAYMENT_STATUSES, Payment, Refund, RefundStatus
from litestar_payguard.schemas.base import validated
from litestar_payguard.schemas.merchant import RefundPage, refund_view
from litestar_payguard.services.gateway_modes import payment_gateway
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.services.paging import page_after, split_page
from litestar_payguard.services.payments import PaymentNotFoundError, PaymentService, owned
from litestar_payguard.services.refunds.ledger import publish_refund
from litestar_payguard.services.scoped import MerchantScoped

if TYPE_CHECKING:
    from litestar_payguard.schemas.merchant import RefundCreate

__all__ = (
    "PaymentNotRefundableError",
    "RefundExceedsAvailableError",
    "RefundNotFoundError",
    "RefundService",
)


class RefundExceedsAvailableError(InvalidRequestError):
    """The refund asks for more than is left of the captured amount."""

    code = "REFUND_EXCEEDS_AVAILABLE"
    title = "Refund exceeds the available amount"


class PaymentNotRefundableError(ConflictError):
    """Only succeeded or partially refunded payments can be refunded."""

    code = "PAYMENT_NOT_REFUNDABLE"
    title = "Payment not refundable"


class RefundNotFoundError(NotFoundError):
    """No refund with this id belongs to the caller."""

    code = "REFUND_NOT_FOUND"
    title = "Refund not found"


class RefundService(MerchantScoped):
    """Admits and reads a merchant's refunds.

    Workers execute them (:mod:`~litestar_payguard.services.processing.refunds`).
    """

    __slots__ = ()

    async def create(self, payment_id: str | UUID, data: RefundCreate) -> Refund:
        """Admit a refund of the payment, due for processing now.

        The payment row is locked while the refund is admitted, so concurrent refunds are checked one after the
        other against what is left; a check constraint on the payment backs the sum up in the database.

        Raises:
            PaymentNotFoundError: No such payment of this merchant.
            PaymentNotRefundableError: The payment captured nothing (or is fully refunded).
            RefundExceedsAvailableError: More than what is left to refund.
            AmountTooLargeError: An amount above ``PayGuardConfig.max_amount``, whatever the payment.
            GatewayNotConfiguredError: The gateway the payment was made with is not configured (now).
        """
        data = validated(data)
        if data.amount is not None:
            PaymentService(self._db, self._config).check_amount(data.amount)
        payment = await self._locked_payment(payment_id)
        if payment.status not in REFUNDABLE_PAYMENT_STATUSES:
            msg = f"Payment {payment.id} is {payment.status.value}: only succeeded payments can be refunded."
            raise PaymentNotRefundableError(msg, extra={"paymentStatus": payment.status.value})
        available = payment.refundable
        amount = available if data.amount is None else data.amount
        if amount <= 0 or amount > available:
            msg = f"{available} {payment.currency} minor units are left to refund; {amount} were asked."
            raise RefundExceedsAvailableError(msg, extra={"available": available, "requested": amount})
        payment_gateway(self._config, payment.mode, payment.gateway)  # refused now rather than never processed
        now = self._config.clock.now()
        refund = Refund(
            id=uuid4(),
            merchant_id=payment.merchant_id,
            payment_id=payment.id,
            amount=amount,
            currency=payment.currency,
            reason=data.reason,
            status=RefundStatus.PENDING,
            process_at=now,
            created_at=now,
            updated_at=now,
        )
        payment.amount_refunding += amount
        self._db.add(refund)
        publish_refund(Outbox(self._db, self._config.clock), refund, "created", now)
        await self._db.flush()
        if self._dispatcher is not None:
            self._dispatcher.refund_after_commit(self._db, refund.id, now)
        return refund

    async def _locked_payment(self, payment_id: str | UUID) -> Payment:
        criteria = owned(Payment, self._merchant_id, payment_id)
        payment = None
        if criteria is not None:
            payment = await self._db.scalar(
                select(Payment).where(criteria).with_for_update().execution_options(populate_existing=True)
            )
        if payment is None:
            msg = f"No payment {payment_id}."
            raise PaymentNotFoundError(msg)
        return payment

    async def get(self, refund_id: str | UUID) -> Refund:
        """The merchant's refund.

        Raises:
            RefundNotFoundError: No such refund of this merchant.
        """
        criteria = owned(Refund, self._merchant_id, refund_id)
        refund: Refund | None = None if criteria is None else await self._db.scalar(select(Refund).where(criteria))
        if refund is None:
            msg = f"No refund {refund_id}."
            raise RefundNotFoundError(msg)
        return refund

    async def of_payment(self, payment_id: str | UUID) -> list[Refund]:
        """The payment's refunds, oldest first.

        Raises:
            PaymentNotFoundError: No such payment of this merchant.
        """
        criteria = owned(Payment, self._merchant_id, payment_id)
        key = None if criteria is None else await self._db.scalar(select(Payment.id).where(criteria))
        if key is None:
            msg = f"No payment {payment_id}."
            raise PaymentNotFoundError(msg)
        rows = await self._db.scalars(
            select(Refund).where(Refund.payment_id == key).order_by(Refund.created_at, Refund.id)
        )
        return list(rows)

    async def list(self, *, status: RefundStatus | None = None, limit: int, cursor: str | None = None) -> RefundPage:
        """A page of the merchant's refunds, newest first, after ``cursor``; only ``status`` ones when given.

        Raises:
            InvalidCursorError: A cursor this API did not give out.
        """
        statement = select(Refund).where(Refund.merchant_id == self._merchant_id)
        if status is not None:
            statement = statement.where(Refund.status == status)
        rows = list(
            await self._db.scalars(page_after(statement, Refund.created_at, Refund.id, cursor=cursor, limit=limit))
        )
        page, next_cursor = split_page(rows, limit)
        return RefundPage(items=[refund_view(refund) for refund in page], limit=limit, next_cursor=next_cursor)
