"""Payments as their customer sees them: one by id, the open ones, and how an open one is rendered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from litestar_payguard.exceptions import NotFoundError
from litestar_payguard.models import OPEN_PAYMENT_STATUSES, CheckoutSession, Payment
from litestar_payguard.schemas.pending import Conflict, PendingAction, PendingPayment
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.services.payments import guard as rules
from litestar_payguard.services.payments.ownership import owned, owner_filter

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.principal import Principal

__all__ = ("PaymentNotFoundError", "PaymentQueries")


class PaymentNotFoundError(NotFoundError):
    """No payment with this id belongs to the caller."""

    code = "PAYMENT_NOT_FOUND"
    title = "Payment not found"


class PaymentQueries:
    """Reads a customer's payments: the base of :class:`~litestar_payguard.services.payments.PaymentService`.

    It takes the same arguments as the service.
    """

    __slots__ = ("_config", "_db", "_outbox")

    def __init__(self, db: AsyncSession, config: PayGuardConfig, outbox: Outbox | None = None) -> None:
        self._db = db
        self._config = config
        self._outbox = outbox or Outbox(db, config.clock)

    async def find(self, owner: Principal, payment_id: str | UUID) -> Payment | None:
        """The owner's payment with this id, if any (an id that is no UUID names none)."""
        criteria = owned(Payment, owner, payment_id)
        if criteria is None:
            return None
        result = await self._db.execute(select(Payment).where(criteria))
        return result.scalar_one_or_none()

    async def open_payments(self, owner: Principal, *, lock: bool = False) -> list[rules.OpenPayment]:
        """The customer's open (pending or processing) payments, oldest first, with their sessions.

        Args:
            owner: Whose payments.
            lock: Lock the payment rows (for a decision that writes).
        """
        statement = (
            select(Payment, CheckoutSession.id)
            .outerjoin(CheckoutSession, CheckoutSession.payment_id == Payment.id)
            .where(owner_filter(Payment, owner), Payment.status.in_(OPEN_PAYMENT_STATUSES))
            .order_by(Payment.created_at, Payment.id)
        )
        if lock:
            statement = statement.with_for_update(of=Payment)
        rows = await self._db.execute(statement)
        return [rules.OpenPayment(payment=payment, session_id=session_id) for payment, session_id in rows.all()]

    def pending_view(self, entry: rules.OpenPayment, now: datetime, *, conflict: bool = False) -> PendingPayment:
        """Render an open payment with its age, the time it still blocks, and its ways out."""
        payment, prefix = entry.payment, self._config.path
        window = rules.stale_window(self._config)
        actions: dict[str, PendingAction] = {}
        if entry.session_id is not None:
            label = "Complete existing payment" if conflict else "Continue this checkout"
            actions["complete"] = PendingAction(method="GET", url=f"{prefix}/sessions/{entry.session_id}", label=label)
        actions["cancel"] = PendingAction(
            method="POST",
            url=f"{prefix}/payments/{payment.id}/cancel",
            label="Cancel & start new" if conflict else "Cancel this payment",
        )
        view_class = Conflict if conflict else PendingPayment
        return view_class(
            id=payment.id,
            session_id=entry.session_id,
            bundle_id=payment.bundle_id,
            plan_name=payment.plan_name,
            amount=payment.amount,
            currency=payment.currency,
            status=payment.status,
            created_at=payment.created_at,
            age_minutes=rules.age_minutes(payment, now),
            time_remaining_minutes=rules.minutes_left(payment, now, window),
            stale=rules.is_stale(payment, now, window),
            actions=actions,
        )
