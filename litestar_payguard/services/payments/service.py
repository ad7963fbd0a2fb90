"""Payments: admission behind the pending guard and status transitions, each published to the outbox."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import uuid4

import msgspec
from sqlalchemy.exc import IntegrityError

from litestar_payguard.currencies import normalize_currency
from litestar_payguard.exceptions import ConflictError, InvalidRequestError
from litestar_payguard.models import (
    CLOSED_UNPAID,
    TEXT_LENGTH,
    Payment,
    PaymentMode,
    PaymentStatus,
)
from litestar_payguard.schemas.payments import payment_view
from litestar_payguard.services.gateway_modes import gateway_for, merchant_gateway
from litestar_payguard.services.payments import guard as rules
from litestar_payguard.services.payments.closing import due_for_closed_check
from litestar_payguard.services.payments.queries import PaymentNotFoundError, PaymentQueries

if TYPE_CHECKING:
    from datetime import datetime

    from litestar_payguard.gateways import Gateway
    from litestar_payguard.principal import Principal

__all__ = (
    "AmountTooLargeError",
    "InvalidPaymentTransitionError",
    "NewPayment",
    "PaymentNotFoundError",
    "PaymentService",
    "PendingSameBundleError",
)

PAYMENT_TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    # Never straight to succeeded: success is recorded by a worker, with the fulfilment hook.
    PaymentStatus.PENDING: frozenset(
        {PaymentStatus.PROCESSING, PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED}
    ),
    # Back to pending: a checkout attempt the gateway declined; the session may try again.
    PaymentStatus.PROCESSING: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.PENDING}),
    PaymentStatus.SUCCEEDED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
}
"""Every allowed payment transition; anything else is refused."""


class AmountTooLargeError(InvalidRequestError):
    """The amount is above the configured maximum."""

    code = "AMOUNT_TOO_LARGE"
    title = "Amount too large"


class InvalidPaymentTransitionError(ConflictError):
    """The payment cannot move to the requested status from its current one."""

    code = "INVALID_PAYMENT_TRANSITION"
    title = "Invalid payment transition"


class PendingSameBundleError(ConflictError):
    """An open payment for the same bundle blocks a new one (``conflicts`` say how to get out)."""

    code = "PENDING_SAME_BUNDLE"
    title = "Pending payment for this bundle"


@dataclass(frozen=True, slots=True)
class NewPayment:
    """A payment just added, and the customer's open payments for other bundles (they do not block it)."""

    payment: Payment
    warnings: list[rules.OpenPayment]


class PaymentService(PaymentQueries):
    """Creates payments and moves them between statuses (reads: :class:`.queries.PaymentQueries`).

    Args:
        db: The database session to work in (flushed, never committed).
        config: payguard's configuration.
        outbox: The outbox to publish to; one of its own on ``db`` by default.
    """

    __slots__ = ()

    def check_amount(self, amount: int) -> None:
        """Refuse amounts above ``PayGuardConfig.max_amount``."""
        if amount > self._config.max_amount:
            msg = f"The amount {amount} is above the maximum of {self._config.max_amount} minor units."
            raise AmountTooLargeError(msg, extra={"field": "amount", "maximum": self._config.max_amount})

    async def create(
        self,
        owner: Principal,
        *,
        bundle_id: str,
        amount: int,
        currency: str,
        plan_name: str | None,
        metadata: Mapping[str, str],
        at: datetime,
        order_id: str | None = None,
        method: str | None = None,
        method_details: Mapping[str, str] | None = None,
        process_at: datetime | None = None,
        mode: PaymentMode | None = None,
    ) -> NewPayment:
        """Add a pending payment for the owner's customer to the current transaction, behind the pending guard.

        A stale pending payment for the same bundle is expired in this transaction and stops blocking; a fresh
        (or ``processing``) one refuses the new payment; open payments for other bundles never block and are
        returned as warnings. The partial unique index on open payments backs this up under concurrency.
        ``order_id``, ``method`` and ``method_details`` describe a payment the server starts (merchant API);
        ``process_at`` makes it due for the workers. The payment takes its merchant's mode (``mode``, when the
        caller read it already with :func:`~litestar_payguard.services.gateway_modes.merchant_gateway`) and the
        name of that mode's gateway.

        Raises:
            PendingSameBundleError: An open payment for the bundle still blocks a new one.
            GatewayNotConfiguredError: A live merchant in a deployment without a live gateway.
        """
        customer_id = owner.require_customer()
        currency = normalize_currency(currency)
        self.check_amount(amount)
        mode, gateway = await self._gateway(owner, mode)
        warnings = await self._admit(owner, bundle_id, plan_name, at)
        payment = Payment(
            id=uuid4(),
            merchant_id=owner.merchant_id,
            customer_id=customer_id,
            bundle_id=bundle_id,
            plan_name=plan_name,
            amount=amount,
            currency=currency,
            status=PaymentStatus.PENDING,
            mode=mode,
            gateway=gateway.name,
            amount_refunded=0,
            amount_refunding=0,
            needs_attention=False,
            process_attempts=0,
            fulfilment_attempts=0,
            extra=dict(metadata),
            order_id=order_id,
            method=method,
            method_details=dict(method_details or {}),
            process_at=process_at,
            created_at=at,
            updated_at=at,
        )
        self._db.add(payment)
        self._publish(payment, "created", at)
        return NewPayment(payment=payment, warnings=warnings)

    async def _gateway(self, owner: Principal, mode: PaymentMode | None) -> tuple[PaymentMode, Gateway]:
        """The payment's mode (its merchant's, unless the caller read it already) and that mode's gateway."""
        if mode is None:
            return await merchant_gateway(self._db, self._config, owner.merchant_id)
        return mode, gateway_for(self._config, mode)

    async def _admit(
        self, owner: Principal, bundle_id: str, plan_name: str | None, at: datetime
    ) -> list[rules.OpenPayment]:
        """Apply the pending guard under a lock on the customer's open payments; return the warnings.

        Raises:
            PendingSameBundleError: An open payment for the bundle still blocks a new one.
        """
        found = rules.triage(
            await self.open_payments(owner, lock=True), bundle_id, at, rules.stale_window(self._config)
        )
        for entry in found.expire:
            self.transition(entry.payment, PaymentStatus.EXPIRED, at=at, failure_code="stale", failure_message=None)
        if found.conflicts:
            raise self.conflict_error(found.conflicts, plan_name, at)
        return found.warnings

    async def conflict_from(
        self, exc: IntegrityError, owner: Principal, bundle_id: str, plan_name: str | None, now: datetime
    ) -> PendingSameBundleError:
        """Turn the open-bundle index refusing an insert into the 409, reporting the payment that won.

        A concurrent request opened a payment for this bundle between the guard's check and this insert. Which
        constraint refused it is not read from the error, whose text differs by database (Postgres names the
        index, SQLite lists its columns): nothing of this request stands, so the transaction is rolled back and
        the guard looks again. An open payment for the bundle now is the one that won.

        Raises:
            IntegrityError: ``exc`` itself, when no open payment for the bundle explains it.
        """
        await self._db.rollback()
        conflicts = [entry for entry in await self.open_payments(owner) if entry.payment.bundle_id == bundle_id]
        if not conflicts:
            raise exc
        return self.conflict_error(conflicts, plan_name, now)

    def conflict_error(
        self, conflicts: list[rules.OpenPayment], plan_name: str | None, now: datetime
    ) -> PendingSameBundleError:
        """The 409 for open payments of the bundle, with each one's ways out and a recommendation."""
        views = [self.pending_view(entry, now, conflict=True) for entry in conflicts]
        first = conflicts[0].payment
        plan = f" ({first.plan_name})" if first.plan_name else ""
        msg = f"You already have a pending payment for this bundle{plan}: complete it, or cancel it and start again."
        return PendingSameBundleError(
            msg,
            extra={
                "conflicts": [msgspec.to_builtins(view) for view in views],
                "recommendation": rules.recommend(first, plan_name),
            },
        )

    def transition(
        self,
        payment: Payment,
        status: PaymentStatus,
        *,
        at: datetime,
        gateway_payment_id: str | None = None,
        failure_code: str | None = None,
        failure_message: str | None = None,
    ) -> None:
        """Move a payment to ``status`` and publish the change.

        Raises:
            InvalidPaymentTransitionError: The move is not in :data:`PAYMENT_TRANSITIONS`.
        """
        if status not in PAYMENT_TRANSITIONS.get(payment.status, frozenset()):
            msg = f"Payment {payment.id} cannot go from {payment.status.value} to {status.value}."
            raise InvalidPaymentTransitionError(msg)
        if payment.status is PaymentStatus.PENDING and status in CLOSED_UNPAID:
            due_for_closed_check(payment, at)  # the customer may have paid at the gateway all the same
        payment.status = status
        if status is PaymentStatus.SUCCEEDED:  # a declined attempt before this one no longer describes it
            payment.failure_code = payment.failure_message = None
        if gateway_payment_id is not None:
            payment.gateway_payment_id = gateway_payment_id
        if failure_code is not None:
            payment.failure_code = failure_code
            payment.failure_message = failure_message
        self._publish(payment, status.value, at)

    def flag(self, payment: Payment, reason: str, at: datetime) -> None:
        """Flag the payment for a person (``payment.attention_required``): payguard will not decide alone."""
        payment.needs_attention = True
        payment.attention_reason = reason[:TEXT_LENGTH]
        payment.process_at = None
        self._publish(payment, "attention_required", at)

    def resolve(self, payment: Payment, at: datetime) -> None:
        """Clear the flag once a person has dealt with it (``payment.attention_resolved``)."""
        payment.needs_attention = False
        payment.attention_reason = None
        self._publish(payment, "attention_resolved", at)

    def _publish(self, payment: Payment, change: str, at: datetime) -> None:
        self._outbox.record(
            merchant_id=payment.merchant_id,
            type=f"payment.{change}",
            subject_id=payment.id,
            payload=payment_view(payment),
            at=at,
        )
