"""Jobs of the outbound webhooks."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from litestar_payguard.jobs.batches import in_batches
from litestar_payguard.services.webhooks import EVENT_PURGE_BATCH_SIZE, purge_old_events

if TYPE_CHECKING:
    from litestar_payguard.runtime import PayGuard

__all__ = ("EVENT_PURGE_CRON", "purge_events")

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
