"""Checkout sessions: every transition goes through here (reads: :mod:`.reads`)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import case, select, update

from litestar_payguard.exceptions import GatewayError, InvalidSignatureError, PayGuardError
from litestar_payguard.gateways import OrderRequest
from litestar_payguard.models import (
    CLOSED_UNPAID,
    SESSION_TERMINAL,
    CheckoutSession,
    Payment,
    PaymentStatus,
    SessionStatus,
)
from litestar_payguard.observability import gateway_call
from litestar_payguard.principal import Principal
from litestar_payguard.schemas.gateways import CheckoutOrder
from litestar_payguard.services.gateway_modes import payment_gateway
from litestar_payguard.services.sessions import rules
from litestar_payguard.services.sessions.opening import SessionOpening
from litestar_payguard.services.sessions.store import OPEN_STATUSES

if TYPE_CHECKING:
    from litestar_payguard.gateways import PaymentOutcome
    from litestar_payguard.models import InterruptKind

__all__ = ("SessionService",)


class SessionService(SessionOpening):
    """Opens sessions and moves them through the state machine of :mod:`.rules`.

    Injected as ``payguard_sessions``, the service acts for the request's principal; every method also takes
    an explicit ``owner`` (a host acting for someone else, a job). Services flush and never commit: inside a
    request, payguard's transaction layer commits before the response leaves; jobs commit their own sessions.

    Args:
        db: The database session to work in.
        config: payguard's configuration.
        owner: The principal the service acts for when a method is given none.
        dispatcher: Enqueues the processing of a completed payment after the commit; without one (a host
            building the service itself) the reconciler picks the payment up on its next run.
        pricer: The host's pricing hook bound to the request, for :meth:`open_priced`.
        base_url: The origin of the request, for ``checkoutUrl`` when ``public_url`` is not configured (neither:
            ``checkoutUrl`` is a path).
    """

    __slots__ = ()

    async def interrupt(
        self, session_id: str | UUID, kind: InterruptKind, detail: str | None = None, *, owner: Principal | None = None
    ) -> CheckoutSession:
        """Record that the current attempt stopped."""
        session = await self._load(self._acting(owner), session_id, lock=True)
        await self._store(session, rules.interrupt(session, self._now(), kind, detail))
        return session

    async def resume(self, session_id: str | UUID, *, owner: Principal | None = None) -> CheckoutSession:
        """Start the next attempt."""
        session = await self._load(self._acting(owner), session_id, lock=True)
        await self._store(session, rules.resume(session, self._now(), self.policy))
        return session

    async def complete(
        self,
        session_id: str | UUID,
        gateway_payment_id: str,
        signature: str | None = None,
        *,
        owner: Principal | None = None,
    ) -> CheckoutSession:
        """Hand the customer's payment to the workers, who confirm it with the gateway.

        The gateway's checkout signature is verified first, against the order stored for the payment; a bad one
        changes nothing. The payment goes ``processing`` and the session completes (or its attempt ends) when a
        worker has the gateway's answer: poll the session. Reporting the same gateway payment again returns the
        session unchanged.

        Raises:
            InvalidSignatureError: The signature does not verify.
            PaymentProcessingError: Another gateway payment of this session is being confirmed.
            GatewayNotConfiguredError: The payment's gateway is no longer configured (nothing changed).
        """
        session = await self._load(self._acting(owner), session_id, lock=True)
        payment = session.payment
        gateway = payment_gateway(self._config, payment.mode, payment.gateway)
        now = self._now()
        await self._store(session, rules.check_completable(session, now, gateway_payment_id))
        if rules.is_repeat(session, gateway_payment_id):
            return session
        if not gateway.verify_client_signature(payment.gateway_order_id or "", gateway_payment_id, signature):
            msg = f"The {gateway.name} checkout signature of this payment does not verify."
            raise InvalidSignatureError(msg, keep_changes=self._stored)
        payment.processing_started_at = payment.process_at = now
        await self._store(session, rules.submit(session, now, gateway_payment_id))
        if self._dispatcher is not None:
            self._dispatcher.payment_after_commit(self._db, payment.id, now)
        return session

    async def open_order(self, session_id: str | UUID, *, owner: Principal | None = None) -> CheckoutOrder:
        """Return the gateway order the customer pays against in the gateway's checkout, opening it once.

        The gateway is called with no row locked on Postgres; a concurrent call that stored an order first wins, so
        the session keeps one order and a signature is always checked against it. On SQLite the request's
        transaction holds the database's write lock from its start, so other writers wait for the gateway's answer.

        Raises:
            GatewayError: The gateway gave no answer (nothing was stored).
            GatewayNotConfiguredError: The payment's gateway is no longer configured (nothing was stored).
        """
        acting = self._acting(owner)
        session = await self.get(session_id, owner=acting)
        payment = session.payment
        if session.status in SESSION_TERMINAL:
            raise rules.terminal_error(session)
        gateway = payment_gateway(self._config, payment.mode, payment.gateway)
        if payment.gateway_order_id is None:
            request = OrderRequest(
                payment_id=payment.id,
                amount=payment.amount,
                currency=payment.currency,
                idempotency_key=f"payment:{payment.id}:order",
                notes={"payguard_payment_id": str(payment.id), "payguard_session_id": str(session.id)},
            )
            try:
                with gateway_call(gateway.name, "create_order"):
                    order = await gateway.create_order(request)
            except PayGuardError:
                raise
            except Exception as exc:  # any adapter failure: the gateway gave no answer
                msg = f"The {gateway.name} gateway did not open an order: {type(exc).__name__}."
                raise GatewayError(msg) from exc
            closed = Payment.status.in_(CLOSED_UNPAID)
            await self._db.execute(
                update(Payment)
                .where(Payment.id == payment.id, Payment.gateway_order_id.is_(None))
                .values(
                    gateway_order_id=order.order_id,
                    # Closed while the gateway opened the order (a cancel, an expiry): the order exists, so a worker
                    # asks about it as for any payment closed with one (PaymentService.transition).
                    process_at=case((closed, self._now()), else_=Payment.process_at),
                    process_attempts=case((closed, 0), else_=Payment.process_attempts),
                )
            )
            await self._db.refresh(payment, attribute_names=["gateway_order_id", "status"])
            await self._db.refresh(session, attribute_names=["status"])
            if session.status in SESSION_TERMINAL:  # no order to pay for a checkout that ended meanwhile
                error = rules.terminal_error(session)
                error.keep_changes = True  # the stored order and its check
                raise error
        assert payment.gateway_order_id is not None
        return CheckoutOrder(
            session_id=session.id,
            gateway=gateway.name,
            gateway_order_id=payment.gateway_order_id,
            amount=payment.amount,
            currency=payment.currency,
        )

    async def apply_payment_outcome(self, session: CheckoutSession, outcome: PaymentOutcome) -> None:
        """Apply the gateway's final answer to a locked session and its payment (for the workers)."""
        await self._store(session, rules.apply_payment_outcome(session, self._now(), outcome))

    async def apply_resolution(self, session: CheckoutSession, outcome: PaymentOutcome) -> None:
        """End a locked session whose flagged payment a person resolved (a failure is final, unlike a decline)."""
        await self._store(session, rules.apply_resolution(session, self._now(), outcome))

    async def cancel(self, session_id: str | UUID, *, owner: Principal | None = None) -> CheckoutSession:
        """Cancel the session and its payment."""
        session = await self._load(self._acting(owner), session_id, lock=True)
        await self._store(session, rules.cancel(session, self._now()))
        return session

    async def expire_due(self, *, batch_size: int) -> int:
        """Expire one batch of open sessions past their expiry (and cancel their payments).

        Rows another worker holds are skipped, so concurrent runs never expire a session twice.

        Returns:
            How many sessions this call expired; fewer than ``batch_size`` means none are left.
        """
        now = self._now()
        due = await self._db.scalars(
            select(CheckoutSession)
            .join(Payment, Payment.id == CheckoutSession.payment_id)
            # A payment with the gateway keeps its session open until the gateway has answered.
            .where(
                CheckoutSession.status.in_(OPEN_STATUSES),
                CheckoutSession.expires_at <= now,
                Payment.status != PaymentStatus.PROCESSING,
            )
            .order_by(CheckoutSession.expires_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        expired = 0
        for session in due.all():
            decision = rules.observe(session, now)
            await self._store(session, decision)
            expired += session.status is SessionStatus.EXPIRED and bool(decision.transitions)
        return expired
