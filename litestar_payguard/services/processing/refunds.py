"""Executing admitted refunds through the gateway, one committed step at a time (as payments are)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import select

from litestar_payguard.gateways import GatewayStatus, RefundOutcome, RefundRequest
from litestar_payguard.models import Payment, Refund, RefundStatus
from litestar_payguard.observability import gateway_call
from litestar_payguard.services.payments import PaymentService
from litestar_payguard.services.processing.lease import Lease, backoff
from litestar_payguard.services.processing.step import LeasedProcessor
from litestar_payguard.services.refunds import apply_deferred_refunds, apply_refund_outcome

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.gateways import Gateway

__all__ = ("RefundProcessor", "RefundStep")

logger = logging.getLogger("litestar_payguard.processing")


@dataclass(frozen=True, slots=True)
class RefundStep:
    """Where a step left the refund: its status, and when the next step is due (``None``: done)."""

    status: RefundStatus | None
    next_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RefundLease(Lease):
    """A refund a worker holds, with what the gateway call needs (``mode`` and ``gateway``: its payment's)."""

    payment_id: UUID
    gateway_payment_id: str
    amount: int
    currency: str
    reason: str | None


class RefundProcessor(LeasedProcessor[RefundLease, RefundOutcome, RefundStep]):
    """Processes refunds for the workers (``process_refund`` job, reconciler).

    A processed refund moves its amount from ``amount_refunding`` to ``amount_refunded`` and the payment to
    ``partially_refunded`` or ``refunded``; a failed one releases its amount for other refunds. A refund the
    gateway gave no answer about is never given up on (the money may have moved): it is retried with backoff, and
    after ``gateway_max_attempts`` its payment is flagged for a person as well.
    """

    __slots__ = ()

    _subject = "refund"
    _claimed_status = RefundStatus.PENDING

    async def _ask(self, gateway: Gateway, claim: RefundLease, deadline: float) -> RefundOutcome:
        request = RefundRequest(
            refund_id=claim.id,
            payment_id=claim.payment_id,
            gateway_payment_id=claim.gateway_payment_id,
            amount=claim.amount,
            currency=claim.currency,
            idempotency_key=f"refund:{claim.id}",
            reason=claim.reason,
        )
        with gateway_call(gateway.name, "refund"):
            async with asyncio.timeout_at(deadline):
                return await gateway.refund(request)

    async def _no_answer(self, claim: RefundLease, exc: Exception) -> RefundStep:
        logger.warning("payguard: gateway gave no answer for refund %s: %r", claim.id, exc)
        attention = None
        if claim.attempts >= self._config.gateway_max_attempts:
            # Never given up on (the money may have moved): retried every 15 minutes at most, and shown to a
            # person on its payment.
            attention = (
                f"refund {claim.id} of {claim.amount} got no answer from the gateway {claim.attempts} times "
                f"and is still retried; check it at the gateway. Last: {exc!r}"
            )
        delay = backoff(self._config.gateway_retry_seconds, claim.attempts)
        return await self._later(claim, delay, attention=attention)

    async def _claim(self, refund_id: UUID) -> RefundLease | RefundStep:
        async with self._db_sessions() as db:
            refund = await db.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
            if refund is None:
                return RefundStep(None)
            now = self._config.clock.now()
            if refund.status is not RefundStatus.PENDING or refund.process_at is None:
                return RefundStep(refund.status)
            if refund.process_at > now:
                return RefundStep(refund.status, refund.process_at)
            paid = (
                await db.execute(
                    select(Payment.mode, Payment.gateway, Payment.gateway_payment_id).where(
                        Payment.id == refund.payment_id
                    )
                )
            ).one()
            refund.process_attempts += 1
            refund.process_at = now + timedelta(seconds=self._config.payment_lease_seconds)
            claim = RefundLease(
                id=refund.id,
                mode=paid.mode,
                gateway=paid.gateway,
                payment_id=refund.payment_id,
                gateway_payment_id=paid.gateway_payment_id or "",
                amount=refund.amount,
                currency=refund.currency,
                reason=refund.reason,
                lease_until=refund.process_at,
                attempts=refund.process_attempts,
            )
            await db.commit()
            return claim

    async def _locked(self, db: AsyncSession, claim: RefundLease) -> tuple[Payment, Refund]:
        # The payment first, as admission locks it: refunds of one payment finish one after the other.
        payment = await db.scalar(
            select(Payment)
            .where(Payment.id == claim.payment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        refund = await db.scalar(
            select(Refund).where(Refund.id == claim.id).with_for_update().execution_options(populate_existing=True)
        )
        assert payment is not None
        assert refund is not None
        return payment, refund

    async def _later(self, claim: RefundLease, delay: timedelta, *, attention: str | None = None) -> RefundStep:
        """Make the refund due again after ``delay``; with ``attention``, flag its payment (unless flagged)."""
        async with self._db_sessions() as db:
            payment, refund = await self._locked(db, claim)
            if self._lease_lost(refund, claim):
                return RefundStep(refund.status, refund.process_at)
            now = self._config.clock.now()
            if attention is not None and not payment.needs_attention:
                PaymentService(db, self._config).flag(payment, attention, now)
            refund.process_at = now + delay
            step = RefundStep(refund.status, refund.process_at)
            await db.commit()
            return step

    async def _record(self, claim: RefundLease, outcome: RefundOutcome) -> RefundStep:
        async with self._db_sessions() as db:
            payment, refund = await self._locked(db, claim)
            if refund.status is not RefundStatus.PENDING:
                return RefundStep(refund.status)
            now = self._config.clock.now()
            if outcome.gateway_refund_id:
                refund.gateway_refund_id = outcome.gateway_refund_id
            if outcome.status is GatewayStatus.PENDING:
                refund.process_at = now + backoff(self._config.gateway_poll_seconds, claim.attempts)
                step = RefundStep(refund.status, refund.process_at)
                await db.commit()
                return step
            apply_refund_outcome(db, self._config, payment=payment, refund=refund, outcome=outcome, at=now)
            # A gateway refund that did not fit while this one was pending may fit now (this one failed).
            await apply_deferred_refunds(db, self._config, payment)
            step = RefundStep(refund.status)
            await db.commit()
            return step
