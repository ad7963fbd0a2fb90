"""Jobs executing payments and refunds, and the reconciler that hands due ones to the workers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from litestar_payguard.services.dispatch import Dispatcher
from litestar_payguard.services.processing import Reconciler, RefundProcessor

if TYPE_CHECKING:
    from litestar_payguard.runtime import PayGuard

__all__ = ("process_payment", "process_refund", "reconcile")


async def process_payment(ctx: dict[str, Any], *, payment_id: str) -> str | None:
    """Take one step with a payment, and enqueue the next one when it is due later.

    Returns:
        The payment's status afterwards.
    """
    payguard: PayGuard = ctx["payguard"]
    step = await payguard.payment_processor().process(UUID(payment_id))
    if step.next_at is not None:
        await Dispatcher(payguard.queue, payguard.config).payment(UUID(payment_id), step.next_at)
    return None if step.status is None else step.status.value


async def process_refund(ctx: dict[str, Any], *, refund_id: str) -> str | None:
    """Take one step with a refund, and enqueue the next one when it is due later.

    Returns:
        The refund's status afterwards.
    """
    payguard: PayGuard = ctx["payguard"]
    step = await RefundProcessor(payguard.config, payguard.db_session).process(UUID(refund_id))
    if step.next_at is not None:
        await Dispatcher(payguard.queue, payguard.config).refund(UUID(refund_id), step.next_at)
    return None if step.status is None else step.status.value


async def reconcile(ctx: dict[str, Any]) -> dict[str, int]:
    """Enqueue every payment and refund whose next step is due: lost jobs, dead workers' leases, retries.

    A payment stuck in ``processing`` past its lease is taken up again, and the step first asks the gateway
    where it stands, so it is resolved from the gateway's answer rather than charged again.

    Returns:
        How many payments and refunds were handed out.
    """
    payguard: PayGuard = ctx["payguard"]
    return await Reconciler(payguard.config, payguard.db_session, Dispatcher(payguard.queue, payguard.config)).run()
