"""Finds payments and refunds whose next step is due and hands them to the workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from litestar_payguard.models import Payment, Refund, RefundStatus

if TYPE_CHECKING:
    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.services.dispatch import Dispatcher
    from litestar_payguard.transactions import DbSessionFactory

__all__ = ("Reconciler",)


class Reconciler:
    """The safety net under the after-commit enqueue: the due rows are the truth, jobs only a fast path.

    Args:
        config: payguard's configuration.
        sessions: Opens a database session.
        dispatcher: Enqueues the jobs.
    """

    __slots__ = ("_config", "_db_sessions", "_dispatcher")

    def __init__(self, config: PayGuardConfig, sessions: DbSessionFactory, dispatcher: Dispatcher) -> None:
        self._config = config
        self._db_sessions = sessions
        self._dispatcher = dispatcher

    async def run(self) -> dict[str, int]:
        """Enqueue due payments and refunds, oldest due first, up to ``reconcile_batch_size`` of each.

        Returns:
            ``{"payments": n, "refunds": m}`` handed out.
        """
        now = self._config.clock.now()
        limit = self._config.reconcile_batch_size
        async with self._db_sessions() as db:
            payments = (
                await db.execute(
                    select(Payment.id, Payment.process_at)
                    # Any status: a closed payment still due has gateway news to check (see PaymentProcessor).
                    .where(Payment.process_at <= now, Payment.needs_attention.is_(False))
                    .order_by(Payment.process_at)
                    .limit(limit)
                )
            ).all()
            refunds = (
                await db.execute(
                    select(Refund.id, Refund.process_at)
                    .where(Refund.process_at <= now, Refund.status == RefundStatus.PENDING)
                    .order_by(Refund.process_at)
                    .limit(limit)
                )
            ).all()
        for payment_id, due in payments:
            await self._dispatcher.payment(payment_id, due, reconciling=True)
        for refund_id, due in refunds:
            await self._dispatcher.refund(refund_id, due, reconciling=True)
        return {"payments": len(payments), "refunds": len(refunds)}
