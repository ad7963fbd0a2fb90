"""The refund ledger of a payment: a refund's outcome applied, and the gateway's own refund events.

Every change here runs on a locked payment (and its locked refund), in the caller's transaction: the admitted
refunds, the ones made at the gateway and the amount still refundable move together or not at all. A gateway
refund that does not fit yet (ours are still pending) waits as an unapplied event until one of ours ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import uuid4

from sqlalchemy import or_, select, update

from litestar_payguard.gateways import GatewayStatus, RefundOutcome, WebhookKind
from litestar_payguard.ids import as_uuid
from litestar_payguard.models import CODE_LENGTH, GatewayEvent, Payment, PaymentStatus, Refund, RefundStatus, clip
from litestar_payguard.schemas.merchant import refund_view
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.services.payments import PaymentService

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = (
    "apply_deferred_refunds",
    "apply_refund_event",
    "apply_refund_outcome",
    "drop_deferred_refunds",
    "publish_refund",
)


def publish_refund(outbox: Outbox, refund: Refund, change: str, at: datetime) -> None:
    """Record ``refund.<change>`` in the outbox."""
    outbox.record(
        merchant_id=refund.merchant_id,
        type=f"refund.{change}",
        subject_id=refund.id,
        payload=refund_view(refund),
        at=at,
    )


def apply_refund_outcome(
    db: AsyncSession,
    config: PayGuardConfig,
    *,
    payment: Payment,
    refund: Refund,
    outcome: RefundOutcome,
    at: datetime,
) -> None:
    """Make a pending refund final on the locked payment and refund, and publish the changes."""
    outbox = Outbox(db, config.clock)
    refund.process_at = None
    refund.processed_at = at
    payment.amount_refunding -= refund.amount
    if outcome.status is GatewayStatus.SUCCEEDED:
        refund.status = RefundStatus.PROCESSED
        payment.amount_refunded += refund.amount
        status = (
            PaymentStatus.REFUNDED if payment.amount_refunded == payment.amount else PaymentStatus.PARTIALLY_REFUNDED
        )
        PaymentService(db, config, outbox).transition(payment, status, at=at)
        publish_refund(outbox, refund, "processed", at)
        return
    refund.status = RefundStatus.FAILED
    refund.failure_code = (outcome.failure_code or "refund_failed")[:CODE_LENGTH]
    refund.failure_message = clip(outcome.failure_message) or None
    publish_refund(outbox, refund, "failed", at)


async def apply_refund_event(
    db: AsyncSession, config: PayGuardConfig, event: GatewayEvent, payment: Payment, now: datetime
) -> None:
    """Apply a refund event to the locked, refundable payment.

    Ends our pending refund, or records one made at the gateway (its dashboard); one that would exceed what is
    left of the captured amount flags the payment for attention instead.
    """
    event.applied_at = now
    event.outcome = "applied"
    succeeded = event.kind == WebhookKind.REFUND_SUCCEEDED.value
    refund = await _our_refund(db, payment, event)
    if refund is not None:
        await db.refresh(refund, with_for_update=True)
        if refund.status is not RefundStatus.PENDING:
            event.outcome = "stale"
            return
        status = GatewayStatus.SUCCEEDED if succeeded else GatewayStatus.FAILED
        outcome = RefundOutcome(status, event.gateway_refund_id, event.failure_code, event.failure_message)
        apply_refund_outcome(db, config, payment=payment, refund=refund, outcome=outcome, at=now)
        await apply_deferred_refunds(db, config, payment)  # one that waited for this refund to end
        return
    if not succeeded:
        event.outcome = "ignored"  # a refund we never asked for failed at the gateway: nothing moved
        return
    amount = event.amount or 0
    available = payment.refundable
    if 0 < amount <= payment.amount - payment.amount_refunded and amount > available:
        # It fits only once our refunds still pending end: one of them is bound to be refused at the gateway,
        # whose money this refund took. It waits for them (applied when one ends), rather than being lost.
        event.outcome = "deferred"
        event.applied_at = None
        return
    if amount <= 0 or amount > available:
        reason = f"the gateway refunded {amount} of this payment; only {available} was left to refund"
        PaymentService(db, config).flag(payment, reason, now)
        event.outcome = "attention"
        return
    refund = Refund(
        id=uuid4(),
        merchant_id=payment.merchant_id,
        payment_id=payment.id,
        amount=amount,
        currency=payment.currency,
        reason="refunded at the gateway",
        status=RefundStatus.PENDING,
        gateway_refund_id=event.gateway_refund_id,
        process_attempts=0,
        created_at=now,
        updated_at=now,
    )
    db.add(refund)
    payment.amount_refunding += amount
    outcome = RefundOutcome(GatewayStatus.SUCCEEDED, event.gateway_refund_id)
    apply_refund_outcome(db, config, payment=payment, refund=refund, outcome=outcome, at=now)


async def _our_refund(db: AsyncSession, payment: Payment, event: GatewayEvent) -> Refund | None:
    refs = []
    if event.gateway_refund_id:
        refs.append(Refund.gateway_refund_id == event.gateway_refund_id)
    receipt = as_uuid(event.refund_receipt) if event.refund_receipt else None
    if receipt is not None:
        refs.append(Refund.id == receipt)
    if not refs:
        return None
    refund: Refund | None = await db.scalar(select(Refund).where(Refund.payment_id == payment.id, or_(*refs)).limit(1))
    return refund


async def drop_deferred_refunds(db: AsyncSession, payment: Payment, now: datetime) -> None:
    """Mark the refund events that waited for a payment now closed unpaid as stale: nothing is left to refund."""
    await db.execute(
        update(GatewayEvent)
        .where(GatewayEvent.payment_id == payment.id, GatewayEvent.applied_at.is_(None))
        .values(applied_at=now, outcome="stale")
    )


async def apply_deferred_refunds(db: AsyncSession, config: PayGuardConfig, payment: Payment) -> int:
    """Apply the refund events that waited for this payment's success (in the transaction recording it).

    Returns:
        How many were applied.
    """
    events = list(
        await db.scalars(
            select(GatewayEvent)
            .where(GatewayEvent.payment_id == payment.id, GatewayEvent.applied_at.is_(None))
            .order_by(GatewayEvent.received_at, GatewayEvent.id)
            .with_for_update()
        )
    )
    now = config.clock.now()
    applied = 0
    for event in events:
        if event.applied_at is not None:  # applied meanwhile, by the ending of one of our refunds it triggered
            continue
        await apply_refund_event(db, config, event, payment, now)
        applied += event.applied_at is not None
    return applied
