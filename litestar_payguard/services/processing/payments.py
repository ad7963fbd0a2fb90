"""Running a payment through the gateway, one committed step at a time.

A worker *claims* a due payment (``pending`` → ``processing``, and a lease: ``process_at`` moves to the lease's
end), asks the gateway with no transaction open, then *records* what the gateway said under a row lock. The
gateway call carries an idempotency key derived from the payment, and a retried step first asks the gateway
where the payment stands, so a job run twice, or re-run after its worker died, never charges twice.

Recording the answer, with the host's fulfilment hook for a success, is
:mod:`~litestar_payguard.services.processing.outcome`'s.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import func, select, update

from litestar_payguard.exceptions import GatewayRefusedError
from litestar_payguard.gateways import ChargeRequest, GatewayStatus, OrderRequest, PaymentOutcome
from litestar_payguard.models import (
    CLOSED_UNPAID,
    CODE_LENGTH,
    OPEN_PAYMENT_STATUSES,
    TEXT_LENGTH,
    CheckoutSession,
    Payment,
    PaymentStatus,
)
from litestar_payguard.observability import gateway_call
from litestar_payguard.services.gateway_modes import payment_gateway
from litestar_payguard.services.payments import PaymentService
from litestar_payguard.services.processing.lease import PaymentLease, Step, backoff, lock_claimed
from litestar_payguard.services.processing.outcome import OutcomeRecorder
from litestar_payguard.services.processing.step import LeasedProcessor
from litestar_payguard.transactions import DbSessionFactory

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.gateways import Gateway
    from litestar_payguard.models import PaymentMode
    from litestar_payguard.services.processing.fast_path import PaymentStatements

__all__ = ("PaymentProcessor", "Step")

logger = logging.getLogger("litestar_payguard.processing")


class PaymentProcessor(LeasedProcessor[PaymentLease, PaymentOutcome, Step]):
    """Processes payments for the workers (``process_payment`` job, reconciler).

    A payment whose gateway gave no answer is retried with backoff and flagged after ``gateway_max_attempts``.

    Args:
        config: payguard's configuration (gateways, hook, timings, clock).
        sessions: Opens a database session; each step commits its own.
        statements: The usual steps as single statements (Postgres through asyncpg); ``None``: the ORM for all.
    """

    __slots__ = ("_recorder", "_statements")

    _subject = "payment"
    _claimed_status = PaymentStatus.PROCESSING

    def __init__(
        self, config: PayGuardConfig, sessions: DbSessionFactory, statements: PaymentStatements | None = None
    ) -> None:
        super().__init__(config, sessions)
        self._statements = statements
        self._recorder = OutcomeRecorder(config, sessions, statements)

    async def _ask(self, gateway: Gateway, claim: PaymentLease, deadline: float) -> PaymentOutcome:
        try:
            return await self._ask_gateway(gateway, claim, deadline)
        except GatewayRefusedError as exc:  # an answer, and a final one: the payment cannot be made
            code = str(exc.extra.get("gatewayCode") or "gateway_refused")[:CODE_LENGTH]
            return PaymentOutcome(GatewayStatus.FAILED, failure_code=code, failure_message=exc.detail[:TEXT_LENGTH])

    async def _no_answer(self, claim: PaymentLease, exc: Exception) -> Step:
        logger.warning("payguard: gateway %s gave no answer for payment %s: %r", claim.gateway, claim.id, exc)
        if claim.attempts >= self._config.gateway_max_attempts:
            reason = f"the gateway gave no answer {claim.attempts} times; last: {exc!r}"
            return await self._give_up(claim, reason)
        return await self._later(claim, backoff(self._config.gateway_retry_seconds, claim.attempts))

    async def _record(self, claim: PaymentLease, outcome: PaymentOutcome) -> Step:
        return await self._recorder.record(claim, outcome)

    async def _ask_gateway(self, gateway: Gateway, claim: PaymentLease, deadline: float) -> PaymentOutcome:
        order_id = claim.gateway_order_id or await self._open_order(gateway, claim, deadline)
        outcome: PaymentOutcome | None = None
        if claim.attempts > 1:  # a retry: the last attempt may have charged before it died
            with gateway_call(gateway.name, "fetch_status"):
                async with asyncio.timeout_at(deadline):
                    outcome = await gateway.fetch_status(order_id, claim.gateway_payment_id)
        if outcome is None or outcome.status is GatewayStatus.PENDING:
            request = ChargeRequest(
                payment_id=claim.id,
                amount=claim.amount,
                currency=claim.currency,
                gateway_order_id=order_id,
                idempotency_key=f"payment:{claim.id}",
                gateway_payment_id=claim.gateway_payment_id,
                method=claim.method,
                method_details=claim.method_details,
            )
            with gateway_call(gateway.name, "charge"):
                async with asyncio.timeout_at(deadline):
                    outcome = await gateway.charge(request)
        return outcome

    async def _closed(self, db: AsyncSession, payment: Payment) -> Step:
        """Release a closed payment that is still due, asking the gateway first when payguard closed it unpaid.

        News from the gateway was waiting, but the payment was closed first (cancelled, expired): the customer may
        have paid all the same.
        """
        payment_id, status, made_with = payment.id, payment.status, (payment.mode, payment.gateway)
        order_id, payment_ref = payment.gateway_order_id, payment.gateway_payment_id
        if payment.process_at is None:
            return Step(status)
        check = status in CLOSED_UNPAID and not payment.needs_attention and order_id is not None
        payment.process_at = None
        if check:
            payment.process_attempts += 1
        attempts = payment.process_attempts
        await db.commit()
        if not check or order_id is None:
            return Step(status)
        return await self._check_closed(payment_id, status, order_id, payment_ref, attempts, made_with=made_with)

    async def _check_closed(
        self,
        payment_id: UUID,
        status: PaymentStatus,
        order_id: str,
        payment_ref: str | None,
        attempts: int,
        *,
        made_with: tuple[PaymentMode, str],
    ) -> Step:
        """Ask the gateway about a payment payguard closed; money it captured anyway needs a person.

        Without an answer the check is tried again later, and after ``gateway_max_attempts`` a person is asked.
        """
        try:
            gateway = payment_gateway(self._config, *made_with)
            with gateway_call(gateway.name, "fetch_status"):
                outcome = await gateway.fetch_status(order_id, payment_ref)
        except Exception as exc:  # no answer, or no gateway of the payment's to ask
            if attempts < self._config.gateway_max_attempts:
                logger.warning("payguard: gateway gave no answer about closed payment %s: %r", payment_id, exc)
                return await self._check_later(payment_id, backoff(self._config.gateway_retry_seconds, attempts))
            outcome = None
            reason = (
                f"payguard closed this payment as {status.value} and the gateway gave no answer about it "
                f"{attempts} times; check it at the gateway. Last: {exc!r}"
            )
        else:
            if outcome is None or not outcome.succeeded:
                return Step(status)
            reason = (
                f"the gateway captured {outcome.gateway_payment_id} for this payment after payguard closed it as "
                f"{status.value}: refund it at the gateway or fulfil it by hand"
            )
        async with self._db_sessions() as db:
            payment = await db.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
            assert payment is not None
            if not payment.needs_attention:
                PaymentService(db, self._config).flag(payment, reason, self._now())
                logger.warning("payguard: payment %s needs attention: %s", payment_id, reason)
            await db.commit()
        return Step(status)

    async def _check_later(self, payment_id: UUID, delay: timedelta) -> Step:
        """Ask the gateway about a closed payment again after ``delay``, unless something else came first."""
        async with self._db_sessions() as db:
            payment = await db.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
            assert payment is not None
            if payment.process_at is None and not payment.needs_attention:
                payment.process_at = self._now() + delay
            step = Step(payment.status, payment.process_at)
            await db.commit()
            return step

    async def _give_up(self, claim: PaymentLease, reason: str) -> Step:
        """Stop retrying (the lease must still be ours) and flag the payment for a person."""
        async with self._db_sessions() as db:
            payment, _ = await lock_claimed(db, claim)
            if self._lease_lost(payment, claim):
                return Step(payment.status, payment.process_at)
            PaymentService(db, self._config).flag(payment, reason, self._now())
            logger.warning("payguard: payment %s needs attention: %s", claim.id, reason)
            step = Step(payment.status)  # read before the commit expires the row
            await db.commit()
            return step

    async def _claim(self, payment_id: UUID) -> PaymentLease | Step:
        if self._statements is not None:  # the usual case in one statement; anything else below
            row = await self._statements.claim(payment_id)
            if row is not None:
                return PaymentLease.of_row(row)
        async with self._db_sessions() as db:
            row = (
                await db.execute(
                    select(Payment, CheckoutSession.id)
                    .outerjoin(CheckoutSession, CheckoutSession.payment_id == Payment.id)
                    .where(Payment.id == payment_id)
                    .with_for_update(of=Payment)
                )
            ).first()
            if row is None:
                return Step(None)
            payment, session_id = row
            now = self._now()
            if payment.status not in OPEN_PAYMENT_STATUSES or payment.needs_attention:
                return await self._closed(db, payment)
            if payment.process_at is None:
                return Step(payment.status)
            if payment.process_at > now:  # a retry not due yet, or another worker's lease
                return Step(payment.status, payment.process_at)
            if payment.status is PaymentStatus.PENDING:
                PaymentService(db, self._config).transition(payment, PaymentStatus.PROCESSING, at=now)
                payment.processing_started_at = now
            payment.process_attempts += 1
            payment.process_at = now + timedelta(seconds=self._config.payment_lease_seconds)
            claim = PaymentLease.of(payment, has_session=session_id is not None)
            await db.commit()
            return claim

    async def _open_order(self, gateway: Gateway, claim: PaymentLease, deadline: float) -> str:
        request = OrderRequest(
            payment_id=claim.id,
            amount=claim.amount,
            currency=claim.currency,
            idempotency_key=f"payment:{claim.id}:order",
            notes={"payguard_payment_id": str(claim.id)},
        )
        with gateway_call(gateway.name, "create_order"):
            async with asyncio.timeout_at(deadline):
                order = await gateway.create_order(request)
        # Another worker may have opened one first: every charge must go against the stored one.
        if self._statements is not None:
            stored = await self._statements.store_order(claim.id, order.order_id)
            if stored is not None:
                return stored
        async with self._db_sessions() as db:
            stored = await db.scalar(
                update(Payment)
                .where(Payment.id == claim.id)
                .values(gateway_order_id=func.coalesce(Payment.gateway_order_id, order.order_id))
                .returning(Payment.gateway_order_id)
            )
            await db.commit()
        assert stored is not None
        return stored

    async def _later(self, claim: PaymentLease, delay: timedelta) -> Step:
        """Give the lease back with a new due time (only while the lease is still ours)."""
        async with self._db_sessions() as db:
            payment, _ = await lock_claimed(db, claim)
            if self._lease_lost(payment, claim):
                return Step(payment.status, payment.process_at)
            payment.process_at = self._now() + delay
            step = Step(payment.status, payment.process_at)
            await db.commit()
            return step
