"""The webhook sweep: fan out the events written since the last one, and hand out due deliveries whose job is gone.

A delivery's row is the promise, its SAQ job only the fast path: a Redis restart or a killed worker loses jobs,
never deliveries. Every ``webhook_sweep_seconds`` the sweep fans out new events (their first attempts are
enqueued after each batch commits) and enqueues every pending delivery that is due and held by no attempt. Its
jobs carry their own key, so a job that still exists and the sweep's never run the same attempt twice (the
attempt's lease decides), and a due delivery whose job is lost waits at most one sweep interval. A job that a
killed worker held keeps its key busy in SAQ: the sweep's key changes every lease-long window
(:meth:`~litestar_payguard.services.dispatch.Dispatcher.webhook_delivery`), so such a delivery waits at most one
window (if the job had leased it: until the lease runs out) and a sweep interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from litestar_payguard.models import DeliveryStatus, WebhookDelivery
from litestar_payguard.services.webhooks.outbound.fanout import FAN_OUT_BATCH_SIZE, fan_out

if TYPE_CHECKING:
    from uuid import UUID

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.services.dispatch import Dispatcher
    from litestar_payguard.transactions import DbSessionFactory

__all__ = ("DUE_BATCH_SIZE", "SweepResult", "WebhookSweeper", "sweep_cron")

DUE_BATCH_SIZE = 1000
"""Due deliveries handed out per sweep; the rest wait for the next one."""


def sweep_cron(seconds: float) -> str:
    """The cron schedule of a sweep every ``seconds`` (seconds below a minute use the sixth, seconds, field)."""
    if seconds < 60:
        return f"* * * * * */{max(int(seconds), 1)}"
    return f"*/{max(int(seconds // 60), 1)} * * * *"


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did: events fanned out, deliveries created, due deliveries handed out again."""

    events: int
    created: int
    handed_out: int


class WebhookSweeper:
    """Runs the sweep.

    Args:
        config: payguard's configuration.
        db_sessions: Opens a database session.
        dispatcher: Enqueues the delivery jobs.
    """

    __slots__ = ("_config", "_db_sessions", "_dispatcher")

    def __init__(self, config: PayGuardConfig, db_sessions: DbSessionFactory, dispatcher: Dispatcher) -> None:
        self._config = config
        self._db_sessions = db_sessions
        self._dispatcher = dispatcher

    async def run(self) -> SweepResult:
        """Fan out new events batch by batch, then hand out due deliveries nobody holds."""
        events = 0
        created: set[UUID] = set()
        while True:
            async with self._db_sessions() as db:
                done = await fan_out(db, self._config.clock.now())
                await db.commit()
            for delivery_id, due in done.deliveries:
                await self._dispatcher.webhook_delivery(delivery_id, due)
            events += done.events
            created.update(delivery_id for delivery_id, _ in done.deliveries)
            if done.events < FAN_OUT_BATCH_SIZE:
                break
        return SweepResult(events, len(created), await self._hand_out_due(created))

    async def _hand_out_due(self, created: set[UUID]) -> int:
        """Enqueue a job for every due delivery no attempt holds, but those this sweep created and enqueued."""
        now = self._config.clock.now()
        async with self._db_sessions() as db:
            rows = list(
                await db.execute(
                    select(WebhookDelivery.id, WebhookDelivery.next_attempt_at)
                    .where(
                        WebhookDelivery.status == DeliveryStatus.PENDING,
                        WebhookDelivery.next_attempt_at <= now,
                        or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until <= now),
                    )
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(DUE_BATCH_SIZE)
                )
            )
        handed_out = [(delivery_id, due) for delivery_id, due in rows if delivery_id not in created]
        for delivery_id, due in handed_out:
            await self._dispatcher.webhook_delivery(delivery_id, due, sweeping=True)
        return len(handed_out)
