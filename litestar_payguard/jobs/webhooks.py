"""Jobs of the outbound webhooks."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from litestar_payguard.jobs.batches import in_batches
from litestar_payguard.services.dispatch import Dispatcher
from litestar_payguard.services.webhooks import EVENT_PURGE_BATCH_SIZE, WebhookSweeper, purge_old_events

if TYPE_CHECKING:
    from litestar_payguard.runtime import PayGuard

__all__ = ("EVENT_PURGE_CRON", "deliver_webhook", "purge_events", "sweep_webhooks")

EVENT_PURGE_CRON = "23 3 * * *"
"""When the events past their retention are purged: daily, at a quiet hour."""


async def purge_events(ctx: dict[str, Any]) -> int:
    """Delete every event past the retention, with its deliveries and attempts, one committed batch at a time.

    Returns:
        How many events this run deleted.
    """
    payguard: PayGuard = ctx["payguard"]
    now = payguard.config.clock.now()
    retention = timedelta(days=payguard.config.event_retention_days)
    return await in_batches(
        payguard,
        EVENT_PURGE_BATCH_SIZE,
        lambda db: purge_old_events(db, now=now, retention=retention, batch_size=EVENT_PURGE_BATCH_SIZE),
    )


async def deliver_webhook(ctx: dict[str, Any], *, delivery_id: str) -> str | None:
    """Make the delivery's next attempt if it is due, with those of its endpoint's other due deliveries.

    A stopping worker's run takes no more. Every delivery the run leaves for later (a retry on the schedule, what is
    left when the run stops) gets its job for that time.

    Returns:
        The delivery's status afterwards.
    """
    payguard: PayGuard = ctx["payguard"]
    worker = ctx.get("worker")  # SAQ's: its event is set once it stops taking jobs
    stopping = worker.event.is_set if worker is not None else lambda: False
    run = await payguard.webhook_deliverer().deliver_due(UUID(delivery_id), stopping=stopping)
    dispatcher = Dispatcher(payguard.queue, payguard.config)
    for later_id, at in run.later:
        await dispatcher.webhook_delivery(later_id, at)
    return None if run.status is None else run.status.value


async def sweep_webhooks(ctx: dict[str, Any]) -> dict[str, int]:
    """Fan out new events into deliveries, and hand out due deliveries whose job was lost.

    Returns:
        Events fanned out, deliveries created, and due deliveries handed out again.
    """
    payguard: PayGuard = ctx["payguard"]
    done = await WebhookSweeper(payguard.config, payguard.db_session, Dispatcher(payguard.queue, payguard.config)).run()
    return {"events": done.events, "created": done.created, "handedOut": done.handed_out}
