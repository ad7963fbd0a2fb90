"""Handing work to the workers once the transaction that asks for it has committed.

A payment or refund that needs a worker carries a due time (``process_at``) in its row: that row is the
promise, the SAQ job only a fast path. The job is enqueued after the commit, so a worker never looks for a row
that is not there yet; if the enqueue fails (Redis down) or the process dies first, the reconciler finds the
due row and enqueues it again. Job keys name the due time, so the two never run the same step twice at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from saq import Queue
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = (
    "AFTER_COMMIT_TIMEOUT_SECONDS",
    "JOB_ATTEMPTS",
    "LEASE_MARGIN",
    "MAX_BACKOFF",
    "Dispatcher",
    "Sessions",
    "after_commit",
    "backoff",
    "discard_after_commit",
    "gateway_deadline",
    "run_after_commit",
)

logger = logging.getLogger("litestar_payguard")

_AFTER_COMMIT = "payguard_after_commit"

Work = Callable[[], Awaitable[object]]
Sessions = Callable[[], AbstractAsyncContextManager["AsyncSession"]]
"""Opens a database session of its own (a worker's step commits its own transaction)."""
MAX_BACKOFF = timedelta(minutes=15)


def backoff(first_seconds: float, failures: int) -> timedelta:
    """``first_seconds`` doubled for each failure after the first, capped at 15 minutes."""
    return min(timedelta(seconds=first_seconds * 2 ** max(failures - 1, 0)), MAX_BACKOFF)


LEASE_MARGIN = 0.2
"""Share of a lease kept free after a step's gateway calls, to record their outcome (or the retry) in time."""


def gateway_deadline(config: PayGuardConfig, lease_until: datetime) -> float:
    """When (event loop time) a step's gateway calls must have answered: well inside the worker's lease.

    Past the lease another worker may take the payment or refund up, and two workers would be at the gateway with
    it at once. A call still waiting then is one the gateway gave no answer to: the step is retried while the lease
    is still this worker's, and the retry asks the gateway where things stand before moving money.
    """
    margin = config.payment_lease_seconds * LEASE_MARGIN
    budget = max((lease_until - config.clock.now()).total_seconds() - margin, 0.0)
    return asyncio.get_running_loop().time() + budget


AFTER_COMMIT_TIMEOUT_SECONDS = 2.0
"""How long the work after a commit (enqueueing a job) may take. A Redis that accepts connections but no longer
answers must not hold the response of a request whose data is committed: past this the job is left to the
reconciler, which finds the due row."""


def after_commit(db: AsyncSession, work: Work) -> None:
    """Run ``work`` once this session's transaction has committed (payguard's boundary and jobs call it)."""
    db.info.setdefault(_AFTER_COMMIT, []).append(work)


def discard_after_commit(db: AsyncSession) -> None:
    """Forget the work of a transaction that rolled back."""
    db.info.pop(_AFTER_COMMIT, None)


async def run_after_commit(db: AsyncSession) -> None:
    """Run the work registered for the transaction that just committed.

    A failure is logged, never raised: what was committed stands, and the reconciler picks up any due row
    whose job was not enqueued.
    """
    for work in db.info.pop(_AFTER_COMMIT, []):
        try:
            async with asyncio.timeout(AFTER_COMMIT_TIMEOUT_SECONDS):
                await work()
        except Exception:  # Redis down, gone or hanging: the due row stays, the reconciler enqueues it later
            logger.warning("payguard: could not enqueue work after commit; the reconciler will", exc_info=True)


def _key(kind: str, entity_id: UUID, due: datetime, source: str) -> str:
    return f"{kind}:{entity_id}@{int(due.timestamp() * 1000)}{source}"


JOB_ATTEMPTS = 2
"""SAQ attempts of a payment or refund job. Whatever happens to them, the due time in the database stands."""


class Dispatcher:
    """Enqueues the SAQ jobs that process payments and refunds.

    Args:
        queue: payguard's queue.
        config: payguard's configuration (lease and clock).
    """

    __slots__ = ("_config", "_queue")

    def __init__(self, queue: Queue, config: PayGuardConfig) -> None:
        self._queue = queue
        self._config = config

    async def _enqueue(self, function: str, kind: str, entity_id: UUID, due: datetime, source: str) -> None:
        now = self._config.clock.now()
        await self._queue.enqueue(
            function,
            key=_key(kind, entity_id, due, source),
            timeout=int(self._config.payment_lease_seconds),
            # A second attempt for a job SAQ aborted or that failed: its step gave the lease back, so the retry
            # goes on at once. SAQ's sweep can abort a job it has just handed a worker (tobymao/saq#277).
            retries=JOB_ATTEMPTS,
            scheduled=math.ceil(due.timestamp()) if due > now else 0,
            **{f"{kind}_id": str(entity_id)},
        )

    async def payment(self, payment_id: UUID, due: datetime, *, reconciling: bool = False) -> None:
        """Enqueue the processing of a payment for its due time.

        ``reconciling`` marks the reconciler's own job: a job of a worker that died keeps its key busy in SAQ
        until it times out, and must not keep the reconciler from handing the payment out again.
        """
        await self._enqueue("process_payment", "payment", payment_id, due, ":reconcile" if reconciling else "")

    async def refund(self, refund_id: UUID, due: datetime, *, reconciling: bool = False) -> None:
        """Enqueue the processing of a refund for its due time (``reconciling``: see :meth:`payment`)."""
        await self._enqueue("process_refund", "refund", refund_id, due, ":reconcile" if reconciling else "")

    def payment_after_commit(self, db: AsyncSession, payment_id: UUID, due: datetime) -> None:
        """Enqueue the payment's processing once ``db`` commits."""
        after_commit(db, lambda: self.payment(payment_id, due))

    def refund_after_commit(self, db: AsyncSession, refund_id: UUID, due: datetime) -> None:
        """Enqueue the refund's processing once ``db`` commits."""
        after_commit(db, lambda: self.refund(refund_id, due))
