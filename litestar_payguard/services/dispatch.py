"""Handing payments and refunds to the workers once the transaction that asks for it has committed.

A payment or refund that needs a worker carries a due time (``process_at``) in its row: that row is the
promise, the SAQ job only a fast path. The job is enqueued after the commit, so a worker never looks for a row
that is not there yet; if the enqueue fails (Redis down) or the process dies first, the reconciler finds the
due row and enqueues it again. Job keys name the due time, so the two never run the same step twice at once.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from litestar_payguard.observability import TRACE_META, carrier, span
from litestar_payguard.transactions import after_commit

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from saq import Queue
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("JOB_ATTEMPTS", "Dispatcher")


def _key(kind: str, entity_id: UUID, due: datetime, source: str) -> str:
    return f"{kind}:{entity_id}@{int(due.timestamp() * 1000)}{source}"


JOB_ATTEMPTS = 2
"""SAQ attempts of a payment or refund job. Whatever happens to them, the due time in the database stands."""


class Dispatcher:
    """Enqueues the SAQ jobs that process payments and refunds and deliver webhooks.

    Args:
        queue: payguard's queue.
        config: payguard's configuration (lease and clock).
    """

    __slots__ = ("_config", "_queue")

    def __init__(self, queue: Queue, config: PayGuardConfig) -> None:
        self._queue = queue
        self._config = config

    async def _enqueue(
        self, function: str, kind: str, entity_id: UUID, due: datetime, *, source: str, runs_for: float | None = None
    ) -> None:
        """Enqueue ``function`` for ``entity_id`` at ``due``.

        ``runs_for`` is how long the job may run (the payment lease by default): past it SAQ cancels the job, or
        finds it stuck when its worker died.
        """
        now = self._config.clock.now()
        key = _key(kind, entity_id, due, source)
        with span(f"payguard.enqueue {function}", {"messaging.system": "saq", "payguard.job": key}, kind="PRODUCER"):
            await self._queue.enqueue(
                function,
                key=key,
                timeout=math.ceil(self._config.payment_lease_seconds if runs_for is None else runs_for),
                # A second attempt for a job SAQ aborted or that failed: its step gave the lease back, so the retry
                # goes on at once. SAQ's sweep can abort a job it has just handed a worker (tobymao/saq#277).
                retries=JOB_ATTEMPTS,
                scheduled=math.ceil(due.timestamp()) if due > now else 0,
                # The trace of what asked for the job, for the worker's span of it (empty without OpenTelemetry).
                meta={TRACE_META: context} if (context := carrier()) else {},
                **{f"{kind}_id": str(entity_id)},
            )

    async def payment(self, payment_id: UUID, due: datetime, *, reconciling: bool = False) -> None:
        """Enqueue the processing of a payment for its due time.

        ``reconciling`` marks the reconciler's own job: a job of a worker that died keeps its key busy in SAQ
        until it times out, and must not keep the reconciler from handing the payment out again.
        """
        await self._enqueue("process_payment", "payment", payment_id, due, source=":reconcile" if reconciling else "")

    async def refund(self, refund_id: UUID, due: datetime, *, reconciling: bool = False) -> None:
        """Enqueue the processing of a refund for its due time (``reconciling``: see :meth:`payment`)."""
        await self._enqueue("process_refund", "refund", refund_id, due, source=":reconcile" if reconciling else "")

    async def webhook_delivery(self, delivery_id: UUID, due: datetime, *, sweeping: bool = False) -> None:
        """Enqueue the next attempt of a webhook delivery for its due time (``sweeping``: the sweeper's own job).

        The job may run for one attempt's lease (``webhook_lease_seconds``), so SAQ finds a dead worker's job stuck
        soon after the lease ran out. The sweeper's key also names the lease-long window it was enqueued in: a job
        that a killed worker had taken, before it leased the delivery, keeps its key busy in SAQ, and must not
        keep the sweeper from handing the delivery out again for longer than one window.
        """
        lease = self._config.webhook_lease_seconds
        window = math.floor(self._config.clock.now().timestamp() / lease)
        source = f":sweep{window}" if sweeping else ""
        await self._enqueue("deliver_webhook", "delivery", delivery_id, due, source=source, runs_for=lease)

    def webhook_deliveries_after_commit(self, db: AsyncSession, due: list[tuple[UUID, datetime]]) -> None:
        """Enqueue the first attempts of new deliveries once ``db`` commits."""

        async def enqueue() -> None:
            for delivery_id, at in due:
                await self.webhook_delivery(delivery_id, at)

        if due:
            after_commit(db, enqueue)

    def payment_after_commit(self, db: AsyncSession, payment_id: UUID, due: datetime) -> None:
        """Enqueue the payment's processing once ``db`` commits."""
        after_commit(db, lambda: self.payment(payment_id, due))

    def refund_after_commit(self, db: AsyncSession, refund_id: UUID, due: datetime) -> None:
        """Enqueue the refund's processing once ``db`` commits."""
        after_commit(db, lambda: self.refund(refund_id, due))
