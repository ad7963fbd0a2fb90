"""The merchant API's payments: started by the merchant's server, executed by the workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from litestar_payguard.exceptions import ConflictError, InvalidRequestError, ValidationFailedError
from litestar_payguard.models import CheckoutSession, Payment, PaymentStatus
from litestar_payguard.principal import Principal
from litestar_payguard.schemas.base import validated
from litestar_payguard.schemas.merchant import PaymentPage
from litestar_payguard.schemas.payments import payment_view
from litestar_payguard.services.gateway_modes import merchant_gateway
from litestar_payguard.services.paging import check_offsets, page_after, split_page
from litestar_payguard.services.payments import PaymentNotFoundError, PaymentService, owned, owner_filter
from litestar_payguard.services.processing.attention import resolve_by_hand
from litestar_payguard.services.scoped import MerchantScoped

if TYPE_CHECKING:
    from litestar_payguard.schemas.merchant import PaymentCreate

__all__ = (
    "MerchantPaymentService",
    "MethodNotSupportedError",
    "PaymentFilter",
    "PaymentNotFlaggedError",
    "ResolutionStatusError",
)


class PaymentNotFlaggedError(ConflictError):
    """Only a payment flagged for attention can be handed back to the workers."""

    code = "PAYMENT_NOT_FLAGGED"
    title = "Payment not flagged for attention"


class MethodNotSupportedError(InvalidRequestError):
    """The merchant's gateway cannot start a payment of this method from the merchant's server."""

    code = "METHOD_NOT_SUPPORTED"
    title = "Payment method not supported"


class ResolutionStatusError(InvalidRequestError):
    """A flagged payment still ``processing`` is resolved with how it ended; one already final, without."""

    code = "RESOLUTION_STATUS_MISMATCH"
    title = "Resolution status does not fit the payment"


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    """Which payments to list."""

    status: PaymentStatus | None = None
    customer_id: str | None = None
    created_from: datetime | None = None
    """Inclusive."""
    created_to: datetime | None = None
    """Exclusive."""


class MerchantPaymentService(MerchantScoped):
    """Creates, reads and lists a merchant's payments."""

    __slots__ = ()

    async def create(self, data: PaymentCreate) -> Payment:
        """Add a pending payment, due for processing now, behind the pending-payment guard.

        Raises:
            MethodNotSupportedError: The merchant's gateway (test or live) cannot start a payment of this method
                from a server.
            GatewayNotConfiguredError: A live merchant in a deployment without a live gateway.
            ValidationFailedError: A UPI payment without ``vpa``, or a ``vpa`` for another method.
            PendingSameBundleError: The customer has an open payment for this bundle.
        """
        data = validated(data)
        mode, gateway = await merchant_gateway(self._db, self._config, self._merchant_id)
        supported = gateway.server_methods
        if data.method not in supported:
            msg = f"The {gateway.name} gateway cannot take a {data.method} payment from a server."
            raise MethodNotSupportedError(msg, extra={"supportedMethods": sorted(supported)})
        if (data.method == "upi") != (data.vpa is not None):
            msg = "A UPI payment needs vpa; other methods take none."
            raise ValidationFailedError(msg, extra={"errors": [{"field": "vpa", "source": "body", "message": msg}]})
        owner = Principal(merchant_id=self._merchant_id, customer_id=data.customer_id)
        payments = PaymentService(self._db, self._config)
        now = self._config.clock.now()
        new = await payments.create(
            owner,
            bundle_id=data.bundle_id,
            amount=data.amount,
            currency=data.currency,
            plan_name=data.plan_name,
            metadata=data.metadata,
            at=now,
            order_id=data.order_id,
            method=data.method,
            method_details={"vpa": data.vpa} if data.vpa else {},
            process_at=now,
            mode=mode,
        )
        payment = new.payment
        try:
            await self._db.flush()
        except IntegrityError as exc:
            raise await payments.conflict_from(exc, owner, data.bundle_id, data.plan_name, now) from exc
        if self._dispatcher is not None:
            self._dispatcher.payment_after_commit(self._db, payment.id, now)
        return payment

    async def get(self, payment_id: str | UUID) -> Payment:
        """The merchant's payment.

        Raises:
            PaymentNotFoundError: No such payment of this merchant.
        """
        criteria = owned(Payment, self._merchant_id, payment_id)
        payment: Payment | None = None if criteria is None else await self._db.scalar(select(Payment).where(criteria))
        if payment is None:
            msg = f"No payment {payment_id}."
            raise PaymentNotFoundError(msg)
        return payment

    async def needing_attention(self, *, limit: int) -> list[Payment]:
        """Payments payguard gave up on (the fulfilment hook kept failing), oldest first."""
        rows = await self._db.scalars(
            select(Payment)
            .where(owner_filter(Payment, self._merchant_id), Payment.needs_attention.is_(True))
            .order_by(Payment.created_at, Payment.id)
            .limit(limit)
        )
        return list(rows)

    async def retry_fulfilment(self, payment_id: str | UUID) -> Payment:
        """Give a flagged payment back to the workers, with a fresh count of fulfilment attempts.

        For after the cause is fixed: the worker asks the gateway again (no second charge) and runs the hook.

        Raises:
            PaymentNotFoundError: No such payment of this merchant.
            PaymentNotFlaggedError: The payment is not flagged for attention.
        """
        payment = await self.get(payment_id)
        await self._db.refresh(payment, with_for_update=True)
        if not payment.needs_attention or payment.status is not PaymentStatus.PROCESSING:
            msg = f"Payment {payment.id} is not a processing payment waiting for attention."
            raise PaymentNotFlaggedError(msg, extra={"paymentStatus": payment.status.value})
        now = self._config.clock.now()
        PaymentService(self._db, self._config).resolve(payment, now)
        payment.fulfilment_attempts = 0
        payment.process_attempts = 0
        payment.process_at = now
        await self._db.flush()
        if self._dispatcher is not None:
            self._dispatcher.payment_after_commit(self._db, payment.id, now)
        return payment

    async def resolve_attention(self, payment_id: str | UUID, status: PaymentStatus | None = None) -> Payment:
        """Clear the flag of a payment a person has dealt with at the gateway (refunded, fulfilled by hand).

        A payment still ``processing`` (its hook kept failing, or the gateway never answered) must end with it, or
        it would hold its bundle forever: ``status`` says how (:func:`~litestar_payguard.services.processing.attention.
        resolve_by_hand`): ``succeeded`` (fulfilled by hand) or ``failed`` (no money moved).

        Raises:
            PaymentNotFoundError: No such payment of this merchant.
            PaymentNotFlaggedError: The payment is not flagged.
            ResolutionStatusError: ``status`` missing for a ``processing`` payment, or given for a final one.
        """
        payment = await self.get(payment_id)
        session = await self._db.scalar(  # locked before the payment, in the order of the checkout's requests
            select(CheckoutSession)
            .where(CheckoutSession.payment_id == payment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        await self._db.refresh(payment, with_for_update=True)
        if not payment.needs_attention:
            msg = f"Payment {payment.id} is not waiting for attention."
            raise PaymentNotFlaggedError(msg, extra={"paymentStatus": payment.status.value})
        processing = payment.status is PaymentStatus.PROCESSING
        if processing != (status is not None):
            msg = (
                f"Payment {payment.id} is still processing: say how it ended, status succeeded or failed."
                if processing
                else f"Payment {payment.id} is {payment.status.value} already: resolve it without a status."
            )
            raise ResolutionStatusError(msg, extra={"paymentStatus": payment.status.value})
        now = self._config.clock.now()
        PaymentService(self._db, self._config).resolve(payment, now)
        if status is not None:
            await resolve_by_hand(self._db, self._config, payment, session, status=status, now=now)
        await self._db.flush()
        return payment

    async def list(self, where: PaymentFilter, *, limit: int, cursor: str | None = None) -> PaymentPage:
        """A page of the merchant's payments, newest first, after ``cursor``.

        Raises:
            ValidationFailedError: A time of the filter without its UTC offset.
            InvalidCursorError: A cursor this API did not give out.
        """
        check_offsets(createdFrom=where.created_from, createdTo=where.created_to)
        statement = select(Payment).where(owner_filter(Payment, self._merchant_id))
        if where.status is not None:
            statement = statement.where(Payment.status == where.status)
        if where.customer_id is not None:
            statement = statement.where(Payment.customer_id == where.customer_id)
        if where.created_from is not None:
            statement = statement.where(Payment.created_at >= where.created_from)
        if where.created_to is not None:
            statement = statement.where(Payment.created_at < where.created_to)
        rows = list(
            await self._db.scalars(page_after(statement, Payment.created_at, Payment.id, cursor=cursor, limit=limit))
        )
        page, next_cursor = split_page(rows, limit)
        return PaymentPage(items=[payment_view(payment) for payment in page], limit=limit, next_cursor=next_cursor)
