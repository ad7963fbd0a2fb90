"""Ending a flagged payment that is still ``processing`` the way a person decided (``resolve`` with a status)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import exists, or_, select

from litestar_payguard.exceptions import ConflictError
from litestar_payguard.gateways import GatewayStatus, PaymentOutcome, WebhookKind
from litestar_payguard.models import CheckoutSession, GatewayEvent, Payment, PaymentStatus
from litestar_payguard.services.gateway_webhooks import apply_deferred_refunds, drop_deferred_refunds
from litestar_payguard.services.sessions import SessionService
from litestar_payguard.services.settlement import record_outcome

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("RESOLVED_BY_HAND", "PaymentCapturedError", "settle_by_hand")

RESOLVED_BY_HAND = "resolved_by_hand"
"""The failure code of a payment an administrator marked failed."""


class PaymentCapturedError(ConflictError):
    """Money moved for this payment: it cannot be marked failed, only succeeded (then refunded)."""

    code = "PAYMENT_CAPTURED"
    title = "The payment was captured"


async def settle_by_hand(
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
    are applied, so money given back at the gateway shows as refunds. ``failed``: no money moved, final; refused
    when the payment was captured (its hook ran, or the gateway reported a capture, even one that arrived while
    the person was deciding): such money is recorded as paid and given back through a refund.

    Raises:
        PaymentCapturedError: ``failed`` for a payment known to be captured.
    """
    if status is PaymentStatus.FAILED and await _captured(db, payment):
        msg = (
            f"Payment {payment.id} was captured at the gateway: resolve it as succeeded; refunds made at the gateway "
            "are then applied, or refund it through the API."
        )
        raise PaymentCapturedError(msg, extra={"paymentStatus": payment.status.value})
    outcome = PaymentOutcome(
        GatewayStatus.SUCCEEDED if status is PaymentStatus.SUCCEEDED else GatewayStatus.FAILED,
        gateway_payment_id=payment.gateway_payment_id,
        failure_code=RESOLVED_BY_HAND,
        failure_message="Marked failed by an administrator after it needed attention.",
    )
    if session is not None:  # final either way: not a decline the customer may try again after
        payment.process_at = None
        await SessionService(db, config).settle_by_hand(session, outcome)
    else:
        await record_outcome(db, config, payment, None, outcome)
    if outcome.succeeded:  # after the flag is cleared: a refund larger than what is left flags it anew
        await apply_deferred_refunds(db, config, payment)
    else:
        await drop_deferred_refunds(db, payment, now)


async def _captured(db: AsyncSession, payment: Payment) -> bool:
    """Whether money is known to have moved: the hook ran (only a capture runs it), or the gateway reported one."""
    if payment.fulfilment_attempts > 0:
        return True
    reported = exists().where(
        GatewayEvent.payment_id == payment.id,
        or_(
            GatewayEvent.kind == WebhookKind.PAYMENT_SUCCEEDED.value,
            GatewayEvent.kind == WebhookKind.REFUND_SUCCEEDED.value,  # a refund: captured first
        ),
    )
    return bool(await db.scalar(select(reported)))
