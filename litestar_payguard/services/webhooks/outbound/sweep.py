"""The webhook sweep: fan out the events written since the last one, and hand out due deliveries whose job is gone.

A delivery's row is the promise, its SAQ job only the fast path: a Redis restart or a killed worker loses jobs,
never deliveries. Every ``webhook_sweep_seconds`` the sweep fans out new events (after each batch commits, one
job per endpoint that got deliveries: its first delivery's, which delivers the others with it) and, for each
endpoint with pending deliveries that are due and held by no attempt, enqueues its first one's job. Neither job
goes to an endpoint whose every attempt is held: it would find none free and do nothing, and the run holding them
takes the new deliveries as they come (or hands them on when it stops). Its jobs
carry their own key, so a job that still exists and the sweep's never run the same attempt twice (the attempt's
lease decides), and a due delivery whose job is lost waits at most one sweep interval. A job that a killed
worker held keeps its key busy in SAQ: the sweep's key changes every lease-long window
(:meth:`~litestar_payguard.services.dispatch.Dispatcher.webhook_delivery`), so such a delivery (and its endpoint's
due ones behind it) waits at most one window (if the job had leased it: until the lease runs out) and a sweep
interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from litestar_payguard.models import WebhookDelivery, WebhookEndpoint
from litestar_payguard.services.webhooks.outbound.due import DUE_ORDER, attempts_held, due_now
from litestar_payguard.services.webhooks.outbound.fanout import FAN_OUT_BATCH_SIZE, fan_out

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.services.dispatch import Dispatcher
    from litestar_payguard.transactions import DbSessionFactory

__all__ = ("DUE_BATCH_SIZE", "SweepResult", "WebhookSweeper", "sweep_cron")

DUE_BATCH_SIZE = 1000
"""Endpoints whose due deliveries are handed out per sweep; the rest wait for the next one."""


def sweep_cron(seconds: float) -> str:
    """The cron schedule of a sweep every ``seconds`` (seconds below a minute use the sixth, seconds, field)."""
    if seconds < 60:
        return f"* * * * * */{max(int(seconds), 1)}"
    return f"*/{max(int(seconds // 60), 1)} * * * *"


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did: events fanned out, deliveries created, and jobs handed out again (one per endpoint)."""

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
        events, created = 0, 0
        enqueued: set[UUID] = set()
        while True:
            async with self._db_sessions() as db:
                done = await fan_out(db, self._config.clock.now())
                await db.commit()
                busy = await self._busy(db, set(done.endpoints)) if done.endpoints else set()
            for endpoint_id, (delivery_id, due) in done.endpoints.items():
                if endpoint_id not in busy:  # a busy one's run takes them as they come (or hands them on)
                    await self._dispatcher.webhook_delivery(delivery_id, due)
                    enqueued.add(endpoint_id)
            events += done.events
            created += len(done.deliveries)
            if done.events < FAN_OUT_BATCH_SIZE:
                break
        return SweepResult(events, created, await self._hand_out_due(enqueued))

    async def _busy(self, db: AsyncSession, endpoint_ids: set[UUID]) -> set[UUID]:
        """Those of the endpoints whose every attempt is held: a job for one would find none free and do nothing.

        A backlog fanned out over several batches so gets one job, not one per batch that finds its delivery
        taken by the first one's run (and looks again when that attempt's lease runs out).
        """
        limit = self._config.webhook_max_in_flight_per_endpoint
        # Wait for the transactions that hold the endpoints (a run's record and take): counted after them, the
        # leases are either given back, or the run's next take sees this batch's deliveries (on Postgres; SQLite
        # runs one writer at a time). Shared, in one order, so sweeps do not wait for each other.
        await db.execute(
            select(WebhookEndpoint.id)
            .where(WebhookEndpoint.id.in_(endpoint_ids))
            .order_by(WebhookEndpoint.id)
            .with_for_update(read=True)
        )
        held = await attempts_held(db, endpoint_ids, self._config.clock.now())
        await db.rollback()  # nothing written: the share locks go
        return {endpoint_id for endpoint_id, count in held.items() if count >= limit}

    async def _hand_out_due(self, enqueued: set[UUID]) -> int:
        """Enqueue a job for each endpoint with due deliveries no attempt holds, but those this sweep enqueued.

        The job is its longest due delivery's; it delivers the endpoint's others with it. Each endpoint's pick is
        one index lookup, however long its backlog, and so is its count of attempts held (the partial index of
        leased rows); an endpoint with none free gets no job.
        """
        now = self._config.clock.now()
        first = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.endpoint_id == WebhookEndpoint.id, *due_now(now))
            .order_by(*DUE_ORDER)
            .limit(1)
            .correlate(WebhookEndpoint)
            .scalar_subquery()
        )
        leased = aliased(WebhookDelivery)
        held = (
            select(func.count())
            .select_from(leased)
            .where(leased.endpoint_id == WebhookDelivery.endpoint_id, leased.lease_until > now)
            .correlate(WebhookDelivery)
            .scalar_subquery()
        )
        # An endpoint whose every attempt is held gets no job: it would find none free and do nothing (its run, or
        # the leases running out, frees one; the next sweep looks again). Counted for the picks only.
        free = held < self._config.webhook_max_in_flight_per_endpoint
        async with self._db_sessions() as db:
            picks = [
                (at, delivery_id)
                for delivery_id, endpoint_id, at in await db.execute(
                    select(WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookDelivery.next_attempt_at)
                    .where(WebhookDelivery.id.in_(select(first).select_from(WebhookEndpoint)), free)
                    .order_by(*DUE_ORDER)
                    .limit(DUE_BATCH_SIZE + len(enqueued))
                )
                if endpoint_id not in enqueued
            ][:DUE_BATCH_SIZE]
        for at, delivery_id in picks:
            await self._dispatcher.webhook_delivery(delivery_id, at, sweeping=True)
        return len(picks)
