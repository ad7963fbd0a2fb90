"""A run of the stale-payment cleanup: one committed transaction per batch, recorded from start to finish."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from litestar_payguard.models import CleanupTrigger
from litestar_payguard.observability import count_cleanup_run
from litestar_payguard.services.payments import stale_window
from litestar_payguard.services.pending.cleanup import CleanupService
from litestar_payguard.services.pending.expiry_sql import START
from litestar_payguard.transactions import DbSessionFactory

if TYPE_CHECKING:
    from uuid import UUID

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.schemas.cleanup import CleanupRunView

__all__ = ("StaleCleanup",)

logger = logging.getLogger("litestar_payguard.cleanup")

_JOB = "stale_payments"
"""The job's name in the cleanup metrics."""


class StaleCleanup:
    """Expires every stale pending payment, batch by batch, as one recorded run.

    The run's record is committed before its first batch; each batch expires its payments, writes their outbox
    events and adds to the run's count in one transaction. A worker dying mid-run therefore loses nothing: the
    committed batches stand and are counted, the rest waits for the next run. Two runs at once skip each other's
    rows, so no payment is expired twice and their counts add up to the payments expired.

    Args:
        config: payguard's configuration.
        sessions: Opens a database session per transaction.
    """

    __slots__ = ("_config", "_db_sessions")

    def __init__(self, config: PayGuardConfig, sessions: DbSessionFactory) -> None:
        self._config = config
        self._db_sessions = sessions

    async def run(self, trigger: CleanupTrigger) -> CleanupRunView | None:
        """Run now.

        A scheduled run (``cron``) honours the persisted switch: it does not start while the cleanup is stopped,
        and stops after its current batch when an admin stops it meanwhile. A ``manual`` run is an admin's
        explicit request and runs either way.

        Returns:
            The finished run, or ``None`` when a scheduled run was skipped because the cleanup is stopped.

        Raises:
            Exception: Whatever stopped the run, after it was recorded on the run (when the database allows).
        """
        scheduled = trigger is CleanupTrigger.CRON
        async with self._db_sessions() as db:
            service = CleanupService(db, self._config)
            if scheduled and not await service.is_enabled():
                logger.info("payguard: the stale-payment cleanup is stopped; skipping this scheduled run")
                count_cleanup_run(_JOB, "skipped", 0)
                return None
            started = self._config.clock.now()
            run_id = (await service.start_run(trigger, at=started)).id
            await db.commit()
        cutoff = started - stale_window(self._config)
        try:
            await self._expire_all(run_id, cutoff, scheduled=scheduled)
            async with self._db_sessions() as db:
                view = await CleanupService(db, self._config).finish_run(run_id)
                await db.commit()
        except BaseException as exc:  # a cancelled (timed-out, shut-down) run is recorded as failed too
            await asyncio.shield(self._record_failure(run_id, exc))
            count_cleanup_run(_JOB, "failed", 0)
            raise
        count_cleanup_run(_JOB, "ok", view.expired)
        return view

    async def _expire_all(self, run_id: UUID, cutoff: datetime, *, scheduled: bool) -> None:
        size, after = self._config.stale_cleanup_batch_size, START
        while True:
            async with self._db_sessions() as db:
                service = CleanupService(db, self._config)
                if scheduled and not await service.is_enabled():
                    logger.info("payguard: the stale-payment cleanup was stopped; ending this run early")
                    return
                batch = await service.expire_batch(run_id, cutoff=cutoff, limit=size, after=after)
                await db.commit()
            if batch.count < size or batch.last_created_at is None:
                return
            after = batch.last_created_at

    async def _record_failure(self, run_id: UUID, exc: BaseException) -> None:
        message = (f"{type(exc).__name__}: {exc}".splitlines() or [type(exc).__name__])[0]
        try:
            async with self._db_sessions() as db:
                await CleanupService(db, self._config).finish_run(run_id, error=message)
                await db.commit()
        except Exception as record_exc:  # the database that failed the run may still be down
            logger.error(
                "payguard: cleanup run %s failed (%s) and could not be recorded: %r", run_id, message, record_exc
            )
