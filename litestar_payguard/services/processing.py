"""Running a payment through the gateway, one committed step at a time.

A worker *claims* a due payment (``pending`` → ``processing``, and a lease: ``process_at`` moves to the lease's
end), asks the gateway with no transaction open, then *settles* what the gateway said under a row lock. The
gateway call carries an idempotency key derived from the payment, and a retried step first asks the gateway
where the payment stands, so a job run twice, or re-run after its worker died, never charges twice.

Success and the host's fulfilment hook commit together: if the hook raises, the payment stays ``processing``
and the step is retried with backoff; after ``fulfilment_max_attempts`` the payment is flagged for attention.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from sqlalchemy import func, select, update

from litestar_payguard.exceptions import GatewayRefusedError
from litestar_payguard.gateways import ChargeRequest, GatewayStatus, OrderRequest, PaymentOutcome
from litestar_payguard.models import CLOSED_UNPAID, OPEN_PAYMENT_STATUSES, CheckoutSession, Payment, PaymentStatus
from litestar_payguard.services.dispatch import Sessions, backoff, gateway_deadline
from litestar_payguard.services.gateway_webhooks import apply_deferred_refunds
from litestar_payguard.services.payment_statements import Settlement, settle_in
from litestar_payguard.services.payments import PaymentService
from litestar_payguard.services.sessions import SessionService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import FulfilmentHook, PayGuardConfig
    from litestar_payguard.services.payment_statements import PaymentStatements

__all__ = ("PaymentProcessor", "Step")

logger = logging.getLogger("litestar_payguard.processing")

REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Step:
    """Where a processing step left the payment.

    Attributes:
        status: The payment's status afterwards (``None``: no such payment).
        next_at: When a worker should take it up again; ``None`` when nothing more is due.
    """

    status: PaymentStatus | None
    next_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Claim:
    """What the gateway call needs, read under the lock; no ORM object outlives its session."""

    id: UUID
    amount: int
    currency: str
    lease_until: datetime
    attempts: int
    has_session: bool
    gateway_order_id: str | None
    gateway_payment_id: str | None
    method: str | None
    method_details: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_row(cls, row: Any) -> _Claim:
        """From the row :data:`~litestar_payguard.services.processing_sql.CLAIM` returns."""
        return cls(
            id=row["id"],
            amount=row["amount"],
            currency=row["currency"],
            lease_until=row["process_at"],
            attempts=row["process_attempts"],
            has_session=row["has_session"],
            gateway_order_id=row["gateway_order_id"],
            gateway_payment_id=row["gateway_payment_id"],
            method=row["method"],
            method_details={str(k): str(v) for k, v in msgspec.json.decode(row["method_details"] or "{}").items()},
        )

    @classmethod
    def of(cls, payment: Payment, *, has_session: bool) -> _Claim:
        assert payment.process_at is not None
        return cls(
            id=payment.id,
            amount=payment.amount,
            currency=payment.currency,
            lease_until=payment.process_at,
            attempts=payment.process_attempts,
            has_session=has_session,
            gateway_order_id=payment.gateway_order_id,
            gateway_payment_id=payment.gateway_payment_id,
            method=payment.method,
            method_details={str(k): str(v) for k, v in payment.method_details.items()},
        )


class PaymentProcessor:
    """Processes payments for the workers (``process_payment`` job, reconciler).

    Args:
        config: payguard's configuration (gateway, hook, timings, clock).
        sessions: Opens a database session; each step commits its own.
        statements: The usual steps as single statements (Postgres through asyncpg); ``None``: the ORM for all.
    """

    __slots__ = ("_config", "_sessions", "_statements")

    def __init__(self, config: PayGuardConfig, sessions: Sessions, statements: PaymentStatements | None = None) -> None:
        self._config = config
        self._sessions = sessions
        self._statements = statements

    def _now(self) -> datetime:
        return self._config.clock.now()

    async def process(self, payment_id: UUID) -> Step:
        """Take one step with a due payment: claim it, ask the gateway, settle the answer.

        Returns:
            Where the payment stands, and when the next step is due (a retry, a poll, or the end of the lease
            of a worker that holds it now).
        """
        claimed = await self._claim(payment_id)
        if isinstance(claimed, Step):
            return claimed
        gateway = self._config.gateway
        try:
            outcome = await self._ask_gateway(claimed, gateway_deadline(self._config, claimed.lease_until))
        except GatewayRefusedError as exc:  # an answer, and a final one: the payment cannot be made
            code = str(exc.extra.get("gatewayCode") or "gateway_refused")[:64]
            outcome = PaymentOutcome(GatewayStatus.FAILED, failure_code=code, failure_message=exc.detail[:500])
        except Exception as exc:  # any adapter failure: the gateway gave no answer, try again later
            logger.warning("payguard: gateway %s gave no answer for payment %s: %r", gateway.name, payment_id, exc)
            if claimed.attempts >= self._config.gateway_max_attempts:
                reason = f"the gateway gave no answer {claimed.attempts} times; last: {exc!r}"
                return await self._give_up(claimed, reason)
            return await self._later(claimed, backoff(self._config.gateway_retry_seconds, claimed.attempts))
        return await self._settle(claimed, outcome)

    async def _ask_gateway(self, claim: _Claim, deadline: float) -> PaymentOutcome:
        gateway = self._config.gateway
        order_id = claim.gateway_order_id or await self._open_order(claim, deadline)
        outcome: PaymentOutcome | None = None
        if claim.attempts > 1:  # a retry: the last attempt may have charged before it died
            async with asyncio.timeout_at(deadline):
                outcome = await gateway.fetch_status(order_id, claim.gateway_payment_id)
        if outcome is None or outcome.status is GatewayStatus.PENDING:
            async with asyncio.timeout_at(deadline):
                outcome = await gateway.charge(
                    ChargeRequest(
                        payment_id=claim.id,
                        amount=claim.amount,
                        currency=claim.currency,
                        gateway_order_id=order_id,
                        idempotency_key=f"payment:{claim.id}",
                        gateway_payment_id=claim.gateway_payment_id,
                        method=claim.method,
                        method_details=claim.method_details,
                    )
                )
        return outcome

    async def _closed(self, db: AsyncSession, payment: Payment) -> Step:
        """Release a closed payment that is still due, asking the gateway first when payguard closed it unpaid.

        News from the gateway was waiting, but the payment was closed first (cancelled, expired): the customer may
        have paid all the same.
        """
        payment_id, status = payment.id, payment.status
        order_id, payment_ref = payment.gateway_order_id, payment.gateway_payment_id
        if payment.process_at is None:
            return Step(status)
        check = status in CLOSED_UNPAID and not payment.needs_attention
        payment.process_at = None
        await db.commit()
        if not check or order_id is None:
            return Step(status)
        return await self._check_closed(payment_id, status, order_id, payment_ref)

    async def _check_closed(
        self, payment_id: UUID, status: PaymentStatus, order_id: str, payment_ref: str | None
    ) -> Step:
        """Ask the gateway about a payment payguard closed; money it captured anyway needs a person."""
        try:
            outcome = await self._config.gateway.fetch_status(order_id, payment_ref)
        except Exception as exc:  # no answer: flag it rather than forget it
            outcome = None
            reason = (
                f"news from the gateway came for this {status.value} payment and the gateway gave no answer: {exc!r}"
            )
        else:
            if outcome is None or not outcome.succeeded:
                return Step(status)
            reason = (
                f"the gateway captured {outcome.gateway_payment_id} for this payment after payguard closed it as "
                f"{status.value}: refund it at the gateway or fulfil it by hand"
            )
        async with self._sessions() as db:
            payment = await db.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
            assert payment is not None
            if not payment.needs_attention:
                PaymentService(db, self._config).flag(payment, reason, self._now())
                logger.warning("payguard: payment %s needs attention: %s", payment_id, reason)
            await db.commit()
        return Step(status)

    async def _give_up(self, claim: _Claim, reason: str) -> Step:
        """Stop retrying (the lease must still be ours) and flag the payment for a person."""
        async with self._sessions() as db:
            payment, _ = await self._locked(db, claim)
            if payment.status is not PaymentStatus.PROCESSING or payment.process_at != claim.lease_until:
                return Step(payment.status, payment.process_at)
            PaymentService(db, self._config).flag(payment, reason, self._now())
            logger.warning("payguard: payment %s needs attention: %s", claim.id, reason)
            await db.commit()
            return Step(payment.status)

    async def _claim(self, payment_id: UUID) -> _Claim | Step:
        if self._statements is not None:  # the usual case in one statement; anything else below
            row = await self._statements.claim(payment_id)
            if row is not None:
                return _Claim.of_row(row)
        async with self._sessions() as db:
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
            claim = _Claim.of(payment, has_session=session_id is not None)
            await db.commit()
            return claim

    async def _open_order(self, claim: _Claim, deadline: float) -> str:
        async with asyncio.timeout_at(deadline):
            order = await self._config.gateway.create_order(
                OrderRequest(
                    payment_id=claim.id,
                    amount=claim.amount,
                    currency=claim.currency,
                    idempotency_key=f"payment:{claim.id}:order",
                    notes={"payguard_payment_id": str(claim.id)},
                )
            )
        # Another worker may have opened one first: every charge must go against the stored one.
        if self._statements is not None:
            stored = await self._statements.store_order(claim.id, order.order_id)
            if stored is not None:
                return stored
        async with self._sessions() as db:
            stored = await db.scalar(
                update(Payment)
                .where(Payment.id == claim.id)
                .values(gateway_order_id=func.coalesce(Payment.gateway_order_id, order.order_id))
                .returning(Payment.gateway_order_id)
            )
            await db.commit()
        assert stored is not None
        return stored

    async def _locked(self, db: AsyncSession, claim: _Claim) -> tuple[Payment, CheckoutSession | None]:
        """Lock the payment (through its checkout session, when it has one: the order requests lock in)."""
        if claim.has_session:
            session = await db.scalar(
                select(CheckoutSession)
                .where(CheckoutSession.payment_id == claim.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            assert session is not None
            return session.payment, session
        payment = await db.scalar(
            select(Payment).where(Payment.id == claim.id).with_for_update().execution_options(populate_existing=True)
        )
        assert payment is not None
        return payment, None

    async def _later(self, claim: _Claim, delay: timedelta) -> Step:
        """Give the lease back with a new due time (only while the lease is still ours)."""
        async with self._sessions() as db:
            payment, _ = await self._locked(db, claim)
            if payment.status is not PaymentStatus.PROCESSING or payment.process_at != claim.lease_until:
                return Step(payment.status, payment.process_at)
            payment.process_at = self._now() + delay
            step = Step(payment.status, payment.process_at)
            await db.commit()
            return step

    async def _settle(self, claim: _Claim, outcome: PaymentOutcome) -> Step:
        if (
            self._statements is not None
            and not claim.has_session  # a session settles with its payment: the ORM path
            and outcome.status is not GatewayStatus.PENDING
        ):
            step = await self._settle_by_statement(self._statements, claim, outcome)
            if step is not None:
                return step
        return await self._settle_orm(claim, outcome)

    async def _settle_by_statement(
        self, statements: PaymentStatements, claim: _Claim, outcome: PaymentOutcome
    ) -> Step | None:
        """The usual final answer in one statement (with the hook: in the hook's transaction); ``None``: the ORM."""
        failure_code, failure_message = _failure(outcome)
        settlement = Settlement(
            claim.id,
            lease_until=claim.lease_until,
            status=PaymentStatus.SUCCEEDED if outcome.succeeded else PaymentStatus.FAILED,
            gateway_payment_id=outcome.gateway_payment_id,
            failure_code=failure_code,
            failure_message=failure_message,
        )
        hook = self._config.on_payment_succeeded
        if hook is not None and outcome.succeeded:
            return await self._fulfil(claim, settlement, hook)
        settled = await statements.settle(settlement)
        return None if settled is None else Step(settled)

    async def _settle_orm(self, claim: _Claim, outcome: PaymentOutcome) -> Step:
        failure_code, failure_message = _failure(outcome)
        async with self._sessions() as db:
            payment, session = await self._locked(db, claim)
            if payment.status is not PaymentStatus.PROCESSING:  # settled meanwhile (a webhook, another worker)
                return Step(payment.status)
            now = self._now()
            if outcome.status is GatewayStatus.PENDING:
                if outcome.gateway_payment_id:
                    payment.gateway_payment_id = outcome.gateway_payment_id
                payment.process_at = now + backoff(self._config.gateway_poll_seconds, claim.attempts)
                step = Step(payment.status, payment.process_at)
                await db.commit()
                return step
            payment.process_at = None
            if session is not None:
                await SessionService(db, self._config).settle(session, outcome)
            else:
                PaymentService(db, self._config).transition(
                    payment,
                    PaymentStatus.SUCCEEDED if outcome.succeeded else PaymentStatus.FAILED,
                    at=now,
                    gateway_payment_id=outcome.gateway_payment_id,
                    failure_code=failure_code,
                    failure_message=failure_message,
                )
            step = Step(payment.status)
            if not outcome.succeeded:
                await db.commit()
                return step
            hook = self._config.on_payment_succeeded
            try:
                if hook is not None:
                    await hook(payment, db)
                await apply_deferred_refunds(db, self._config, payment)
                step = Step(payment.status)
                # Inside the try: a deferred constraint of the host's order fails here, not in the hook.
                await db.commit()
            except Exception as exc:  # the host's code: whatever it raised, the success must not stand alone
                await db.rollback()
                return await self._fulfilment_failed(claim, exc)
            return step

    async def _fulfil(self, claim: _Claim, settlement: Settlement, hook: FulfilmentHook) -> Step | None:
        """Record the success with the settling statement and run the hook with the payment, in one transaction.

        ``None`` when the statement changed nothing (the payment is not as the claim left it): the ORM path decides.
        """
        async with self._sessions() as db:
            try:
                settled = await settle_in(db, settlement, self._now())
            except Exception:  # the ORM path decides, in a transaction of its own
                logger.warning("payguard: the settlement statement failed for payment %s", claim.id, exc_info=True)
                return None
            if settled is None:
                return None  # the session rolls back its empty transaction
            payment = await db.get(Payment, claim.id)
            assert payment is not None
            try:
                await hook(payment, db)
                # Inside the try: a deferred constraint of the host's order fails here, not in the hook.
                await db.commit()
            except Exception as exc:  # the host's code: whatever it raised, the success must not stand alone
                await db.rollback()
                return await self._fulfilment_failed(claim, exc)
            return Step(PaymentStatus.SUCCEEDED)

    async def _fulfilment_failed(self, claim: _Claim, exc: Exception) -> Step:
        async with self._sessions() as db:
            payment, _ = await self._locked(db, claim)
            if payment.status is not PaymentStatus.PROCESSING:
                return Step(payment.status)
            payment.fulfilment_attempts += 1
            failures = payment.fulfilment_attempts
            now = self._now()
            logger.warning(
                "payguard: on_payment_succeeded failed for payment %s (failure %d of %d): %r",
                claim.id,
                failures,
                self._config.fulfilment_max_attempts,
                exc,
            )
            if failures >= self._config.fulfilment_max_attempts:
                PaymentService(db, self._config).flag(payment, f"fulfilment failed {failures} times: {exc!r}", now)
            else:
                payment.process_at = now + backoff(self._config.fulfilment_retry_seconds, failures)
            step = Step(payment.status, payment.process_at)
            await db.commit()
            return step


def _failure(outcome: PaymentOutcome) -> tuple[str | None, str | None]:
    """The failure code and message to store for a final answer (none for a success), cut to their columns."""
    if outcome.succeeded:
        return None, None
    return (outcome.failure_code or "declined")[:64], (outcome.failure_message or "")[:REASON_LENGTH]
