"""A customer's open payments: what they have, whether a new one can proceed, and ways out."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import select

from litestar_payguard.exceptions import ConflictError
from litestar_payguard.models import Payment, PaymentStatus
from litestar_payguard.principal import Principal
from litestar_payguard.schemas.payments import Payment as PaymentView
from litestar_payguard.schemas.payments import payment_view
from litestar_payguard.schemas.pending import CanProceed, CleanupResult, PendingList, PendingSummary
from litestar_payguard.services.payments import PaymentNotFoundError, PaymentService, stale_window, triage
from litestar_payguard.services.pending.cleanup import CleanupService
from litestar_payguard.services.sessions import SessionService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("PaymentNotCancellableError", "PendingPaymentService")


class PaymentNotCancellableError(ConflictError):
    """Only a pending payment can be cancelled (a processing one is with the gateway)."""

    code = "PAYMENT_NOT_CANCELLABLE"
    title = "Payment cannot be cancelled"


class PendingPaymentService:
    """The pending-payment guard from the customer's side; acts for the request's principal by default."""

    __slots__ = ("_config", "_db", "_owner", "_payments", "_session_service")

    def __init__(self, db: AsyncSession, config: PayGuardConfig, owner: Principal | None = None) -> None:
        self._db = db
        self._config = config
        self._owner = owner
        self._payments = PaymentService(db, config)
        self._session_service = SessionService(db, config, owner)

    def _acting(self, owner: Principal | None) -> Principal:
        return Principal.acting(owner, self._owner)

    async def pending(self, *, owner: Principal | None = None) -> PendingList:
        """The customer's open payments with age, time left and ways out, and counts."""
        now = self._config.clock.now()
        views = [
            self._payments.pending_view(entry, now) for entry in await self._payments.open_payments(self._acting(owner))
        ]
        stale = sum(view.stale for view in views)
        return PendingList(
            pending_payments=views, summary=PendingSummary(total=len(views), active=len(views) - stale, stale=stale)
        )

    async def can_proceed(
        self, bundle_id: str, plan_name: str | None = None, *, owner: Principal | None = None
    ) -> CanProceed:
        """Whether a payment for the bundle would be accepted now; creates and changes nothing."""
        now = self._config.clock.now()
        open_payments = await self._payments.open_payments(self._acting(owner))
        found = triage(open_payments, bundle_id, now, stale_window(self._config))
        warnings = [self._payments.pending_view(entry, now) for entry in found.warnings]
        if not found.conflicts:
            message = "Ready to create a new payment."
            if found.expire:
                message += " A stale pending payment for this bundle will be expired."
            return CanProceed(can_proceed=True, message=message, conflicts=[], recommendation=None, warnings=warnings)
        error = self._payments.conflict_error(found.conflicts, plan_name, now)
        conflicts = [self._payments.pending_view(entry, now, conflict=True) for entry in found.conflicts]
        return CanProceed(
            can_proceed=False,
            message=error.detail,
            conflicts=conflicts,  # type: ignore[arg-type]  # pending_view(conflict=True) renders Conflict
            recommendation=str(error.extra["recommendation"]),
            warnings=warnings,
        )

    async def cleanup_stale(self, *, owner: Principal | None = None) -> CleanupResult:
        """Expire the customer's own stale pending payments now, rather than waiting for the cleanup job.

        Recorded as a ``customer`` run of the cleanup, in the request's transaction, when it expired anything.
        """
        run = await CleanupService(self._db, self._config).clean_up_own(self._acting(owner))
        return CleanupResult(expired=run.expired if run else 0, run_id=run.id if run else None)

    async def cancel_payment(self, payment_id: str | UUID, *, owner: Principal | None = None) -> PaymentView:
        """Cancel one of the customer's pending payments, and its checkout session with it.

        Raises:
            PaymentNotFoundError: No such payment for this customer.
            PaymentNotCancellableError: The payment is not pending.
        """
        acting = self._acting(owner)
        entry = next(
            (
                entry
                # No lock here: the session (then its payment) is locked below, in the order every transition takes.
                for entry in await self._payments.open_payments(acting)
                if str(entry.payment.id) == str(payment_id)
            ),
            None,
        )
        if entry is None:
            if await self._payments.find(acting, payment_id) is None:
                msg = f"No payment {payment_id}."
                raise PaymentNotFoundError(msg)
            msg = f"Payment {payment_id} is not pending; only a pending payment can be cancelled."
            raise PaymentNotCancellableError(msg)
        if entry.payment.status is not PaymentStatus.PENDING:
            msg = f"Payment {payment_id} is with the gateway ({entry.payment.status.value}); it cannot be cancelled."
            raise PaymentNotCancellableError(msg)
        if entry.session_id is not None:
            session = await self._session_service.cancel(entry.session_id, owner=acting)
            return payment_view(session.payment)
        payment = await self._db.scalar(
            select(Payment)
            .where(Payment.id == entry.payment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert payment is not None
        if payment.status is not PaymentStatus.PENDING:  # taken up by a worker meanwhile
            msg = f"Payment {payment_id} is with the gateway ({payment.status.value}); it cannot be cancelled."
            raise PaymentNotCancellableError(msg)
        self._payments.transition(payment, PaymentStatus.CANCELLED, at=self._config.clock.now())
        await self._db.flush()
        return payment_view(payment)
