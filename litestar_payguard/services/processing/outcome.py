"""Recording the gateway's answer for a claimed payment, and the host's fulfilment hook with a success.

Success and the hook commit together: if the hook raises, the payment stays ``processing`` and the step is
retried with backoff; after ``fulfilment_max_attempts`` the payment is flagged for attention. The usual
answer is recorded in one statement (:mod:`.fast_path_sql`); anything else, a checkout session's
payment and a "still pending" answer take the ORM path, which decides under the row lock.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from litestar_payguard.gateways import GatewayStatus, PaymentOutcome
from litestar_payguard.models import CLOSED_UNPAID, CODE_LENGTH, OPEN_PAYMENT_STATUSES, TEXT_LENGTH, PaymentStatus
from litestar_payguard.observability import trace_json
from litestar_payguard.services.payments import PaymentService
from litestar_payguard.services.processing.fast_path import FinalOutcome, record_final_in
from litestar_payguard.services.processing.lease import PaymentLease, Step, backoff, lock_claimed
from litestar_payguard.services.refunds import apply_deferred_refunds
from litestar_payguard.services.sessions import SessionService
from litestar_payguard.transactions import DbSessionFactory

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import FulfilmentHook, PayGuardConfig
    from litestar_payguard.models import CheckoutSession, Payment
    from litestar_payguard.services.processing.fast_path import PaymentStatements

__all__ = ("OutcomeRecorder", "record_outcome")

logger = logging.getLogger("litestar_payguard.processing")

_UNPAID = OPEN_PAYMENT_STATUSES | CLOSED_UNPAID
"""Statuses that say no money stayed with the merchant."""


class OutcomeRecorder:
    """Records the gateway's answers for the payments a :class:`~.payments.PaymentProcessor` claimed.

    Args:
        config: payguard's configuration (hook, timings, clock).
        sessions: Opens a database session; each recorded outcome commits its own.
        statements: The usual outcome as one statement (Postgres through asyncpg); ``None``: the ORM.
    """

    __slots__ = ("_config", "_db_sessions", "_statements")

    def __init__(
        self, config: PayGuardConfig, sessions: DbSessionFactory, statements: PaymentStatements | None
    ) -> None:
        self._config = config
        self._db_sessions = sessions
        self._statements = statements

    def _now(self) -> datetime:
        return self._config.clock.now()

    async def record(self, claim: PaymentLease, outcome: PaymentOutcome) -> Step:
        """Record the gateway's answer for a claimed payment (with the fulfilment hook, for a success)."""
        if (
            self._statements is not None
            and not claim.has_session  # a session ends with its payment: the ORM path
            and outcome.status is not GatewayStatus.PENDING
        ):
            step = await self._record_by_statement(self._statements, claim, outcome)
            if step is not None:
                return step
        return await self._record_orm(claim, outcome)

    async def _record_by_statement(
        self, statements: PaymentStatements, claim: PaymentLease, outcome: PaymentOutcome
    ) -> Step | None:
        """The usual final answer in one statement (with the hook: in the hook's transaction); ``None``: the ORM."""
        failure_code, failure_message = _failure(outcome)
        final = FinalOutcome(
            claim.id,
            lease_until=claim.lease_until,
            status=PaymentStatus.SUCCEEDED if outcome.succeeded else PaymentStatus.FAILED,
            gateway_payment_id=outcome.gateway_payment_id,
            failure_code=failure_code,
            failure_message=failure_message,
            trace=trace_json(),
        )
        hook = self._config.on_payment_succeeded
        if hook is not None and outcome.succeeded:
            return await self._fulfil(claim, final, hook)
        recorded = await statements.record_final(final)
        return None if recorded is None else Step(recorded)

    async def _record_orm(self, claim: PaymentLease, outcome: PaymentOutcome) -> Step:
        async with self._db_sessions() as db:
            payment, session = await lock_claimed(db, claim)
            now = self._now()
            elsewhere = await self._not_here(db, claim, payment, outcome, now)
            if elsewhere is not None:
                return elsewhere
            if outcome.status is GatewayStatus.PENDING:
                if outcome.gateway_payment_id:
                    payment.gateway_payment_id = outcome.gateway_payment_id
                payment.process_at = now + backoff(self._config.gateway_poll_seconds, claim.attempts)
                step = Step(payment.status, payment.process_at)
                await db.commit()
                return step
            await record_outcome(db, self._config, payment, session, outcome)
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

    async def _not_here(
        self, db: AsyncSession, claim: PaymentLease, payment: Payment, outcome: PaymentOutcome, now: datetime
    ) -> Step | None:
        """Where the locked payment stands when this answer must not be recorded by this step; ``None``: record it.

        Decided meanwhile (a webhook, another worker): left as it is, unless money moved and the payment does not
        say so (another step recorded a decline it saw first, or the payment was closed): then it is due now, so
        a worker asks the gateway again and records its answer, or asks a person. Held by another step (news from
        the gateway made it due, a second worker claimed it): a success is recorded all the same, but anything
        else is left to that step, whose answer is newer (this one may be a decline the customer has since paid
        past).
        """
        if payment.status is not PaymentStatus.PROCESSING:
            if outcome.succeeded and payment.status in _UNPAID and not payment.needs_attention:
                if payment.status in CLOSED_UNPAID:
                    payment.process_attempts = 0  # counting the questions about the closed payment
                payment.process_at = now  # a worker asks the gateway again and records its answer, or asks a person
                step = Step(payment.status, payment.process_at)
                await db.commit()
                return step
            return Step(payment.status)
        if not claim.held_by(payment.process_at) and not outcome.succeeded:
            return Step(payment.status, payment.process_at)
        return None

    async def _fulfil(self, claim: PaymentLease, final: FinalOutcome, hook: FulfilmentHook) -> Step | None:
        """Record the success with the recording statement and run the hook with the payment, in one transaction.

        ``None`` when the statement changed nothing (the payment is not as the claim left it): the ORM path decides.
        """
        async with self._db_sessions() as db:
            try:
                payment = await record_final_in(db, final, self._now())
            except Exception:  # the ORM path decides, in a transaction of its own
                logger.warning("payguard: the outcome statement failed for payment %s", claim.id, exc_info=True)
                return None
            if payment is None:
                return None  # the session rolls back its empty transaction
            try:
                await hook(payment, db)
                # Inside the try: a deferred constraint of the host's order fails here, not in the hook.
                await db.commit()
            except Exception as exc:  # the host's code: whatever it raised, the success must not stand alone
                await db.rollback()
                return await self._fulfilment_failed(claim, exc)
            return Step(PaymentStatus.SUCCEEDED)

    async def _fulfilment_failed(self, claim: PaymentLease, exc: Exception) -> Step:
        async with self._db_sessions() as db:
            payment, _ = await lock_claimed(db, claim)
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


async def record_outcome(
    db: AsyncSession, config: PayGuardConfig, payment: Payment, session: CheckoutSession | None, outcome: PaymentOutcome
) -> None:
    """Record a final answer on a locked ``processing`` payment, through its checkout session when it has one.

    No fulfilment hook, no deferred refund: the caller runs what its case needs in the same transaction.
    """
    payment.process_at = None
    if session is not None:
        await SessionService(db, config).apply_payment_outcome(session, outcome)
        return
    failure_code, failure_message = _failure(outcome)
    PaymentService(db, config).transition(
        payment,
        PaymentStatus.SUCCEEDED if outcome.succeeded else PaymentStatus.FAILED,
        at=config.clock.now(),
        gateway_payment_id=outcome.gateway_payment_id,
        failure_code=failure_code,
        failure_message=failure_message,
    )


def _failure(outcome: PaymentOutcome) -> tuple[str | None, str | None]:
    """The failure code and message to store for a final answer (none for a success), cut to their columns."""
    if outcome.succeeded:
        return None, None
    return (outcome.failure_code or "declined")[:CODE_LENGTH], (outcome.failure_message or "")[:TEXT_LENGTH]
