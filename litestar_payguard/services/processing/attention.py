"""Ending a flagged payment that is still ``processing`` the way a person decided (``resolve`` with a status)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from litestar_payguard.gateways import GatewayStatus, PaymentOutcome
from litestar_payguard.models import CheckoutSession, Payment, PaymentStatus
from litestar_payguard.services.payments import due_for_closed_check
from litestar_payguard.services.processing.outcome import record_outcome
from litestar_payguard.services.refunds import apply_deferred_refunds, drop_deferred_refunds
from litestar_payguard.services.sessions import SessionService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("RESOLVED_BY_HAND", "resolve_by_hand")

RESOLVED_BY_HAND = "resolved_by_hand"
"""The failure code of a payment an administrator marked failed."""


async def resolve_by_hand(
    db: AsyncSession,
    config: PayGuardConfig,
    payment: Payment,
    session: CheckoutSession | None,
    *,
    status: PaymentStatus,
    now: datetime,
) -> None:
    """Record a person's outcome for a locked, flagged ``processing`` payment (and its locked session).

    ``succeeded``: paid without the hook (the order was fulfilled by hand); the gateway's refund events that waited
    are applied, so money given back at the gateway shows as refunds. ``failed``: no money stays with the merchant
    (never taken, or given back at the gateway), final. A failed payment with a gateway order is then asked about
    at the gateway like any payment closed unpaid: capture news that came while the person decided, or a capture
    nobody reported, flags it again rather than staying unseen (a payment refunded at the gateway shows as
    captured there too: the person resolves it once more).
    """
    outcome = PaymentOutcome(
        GatewayStatus.SUCCEEDED if status is PaymentStatus.SUCCEEDED else GatewayStatus.FAILED,
        gateway_payment_id=payment.gateway_payment_id,
        failure_code=RESOLVED_BY_HAND,
        failure_message="Marked failed by an administrator after it needed attention.",
    )
    if session is not None:  # final either way: not a decline the customer may try again after
        payment.process_at = None
        await SessionService(db, config).apply_resolution(session, outcome)
    else:
        await record_outcome(db, config, payment, None, outcome)
    if outcome.succeeded:  # after the flag is cleared: a refund larger than what is left flags it anew
        await apply_deferred_refunds(db, config, payment)
    else:
        await drop_deferred_refunds(db, payment, now)
        due_for_closed_check(payment, now)
