"""The stale-payment cleanup, one transaction at a time: expire a batch, record runs, the switch, statistics.

A run spans several transactions (see :class:`~litestar_payguard.services.pending.cleanup_run.StaleCleanup`); this
service does the work of one of them in the session it is given, and never commits.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from litestar_payguard.models import CleanupRun, CleanupTrigger, JobControl, clip
from litestar_payguard.principal import Principal
from litestar_payguard.schemas.cleanup import CleanupRunView, CleanupStats, PendingStats, run_view
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.services.payments import stale_window
from litestar_payguard.services.pending.cleanup_stats import cleanup_stats, pending_stats
from litestar_payguard.services.pending.expiry_sql import START, ExpiredBatch, expire_stale

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("CLEANUP_JOB", "LARGE_CLEANUP_EVENT", "CleanupService")

logger = logging.getLogger("litestar_payguard.cleanup")

CLEANUP_JOB = "stale_cleanup"
"""Name of the cleanup's switch in ``payguard_job_control``."""
LARGE_CLEANUP_EVENT = "payguard.cleanup.large"
"""Outbox event of a run that expired more payments than ``PayGuardConfig.stale_cleanup_alert_threshold``."""

_OWN_BATCH = 1000


class CleanupService:
    """Expires stale pending payments set-wise, records the runs, and reports on them.

    Args:
        db: The database session to work in (a job's, or the request's).
        config: payguard's configuration.
        owner: The principal that merchant-scoped reads (:meth:`pending_stats`) act for.
    """

    __slots__ = ("_config", "_db", "_outbox", "_owner")

    def __init__(self, db: AsyncSession, config: PayGuardConfig, owner: Principal | None = None) -> None:
        self._db = db
        self._config = config
        self._owner = owner
        self._outbox = Outbox(db, config.clock)

    # The switch.

    async def is_enabled(self) -> bool:
        """Whether scheduled runs may expire payments (on unless an admin stopped them)."""
        enabled = await self._db.scalar(select(JobControl.enabled).where(JobControl.job == CLEANUP_JOB))
        return enabled is None or enabled

    async def set_enabled(self, enabled: bool) -> None:
        """Turn scheduled runs on or off, for every worker: the switch is a row, read before each batch."""
        now = self._config.clock.now()
        control = await self._control(lock=True)
        if control is None:
            try:
                async with self._db.begin_nested():
                    self._db.add(JobControl(job=CLEANUP_JOB, enabled=enabled, changed_at=now))
                return
            except IntegrityError:  # another admin created the row at the same moment: update theirs
                control = await self._control(lock=True)
                assert control is not None
        if control.enabled != enabled:
            control.enabled = enabled
            control.changed_at = now
            await self._db.flush()

    async def _control(self, *, lock: bool = False) -> JobControl | None:
        statement = select(JobControl).where(JobControl.job == CLEANUP_JOB)
        if lock:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        control: JobControl | None = await self._db.scalar(statement)
        return control

    # Runs.

    async def start_run(self, trigger: CleanupTrigger, *, at: datetime, owner: Principal | None = None) -> CleanupRun:
        """Add a run record, started ``at``."""
        run = CleanupRun(
            id=uuid4(),
            trigger=trigger,
            merchant_id=owner.merchant_id if owner else None,
            customer_id=owner.customer_id if owner else None,
            started_at=at,
            expired_count=0,
            batches=0,
            created_at=at,
            updated_at=at,
        )
        self._db.add(run)
        await self._db.flush()
        return run

    async def expire_batch(
        self,
        run_id: UUID,
        *,
        cutoff: datetime,
        limit: int,
        after: datetime = START,
        owner: Principal | None = None,
    ) -> ExpiredBatch:
        """Expire up to ``limit`` pending payments created at or before ``cutoff``, and count them on the run.

        Each expired payment gets its ``payment.expired`` outbox event in the same transaction, as a payment
        expired by the pending guard does.

        Args:
            run_id: The run to count the batch on.
            cutoff: Payments created at or before it are stale.
            limit: Most payments to expire in this call.
            after: Only payments created at or after it (the previous batch's ``last_created_at``).
            owner: Only this customer's payments (a customer's own clean-up).

        Returns:
            The batch; fewer than ``limit`` expired means none are left (but rows another transaction holds).
        """
        customer = (owner.merchant_id, owner.require_customer()) if owner is not None else None
        return await expire_stale(
            self._db,
            run_id=run_id,
            cutoff=cutoff,
            limit=limit,
            now=self._config.clock.now(),
            after=after,
            outbox=self._outbox,
            owner=customer,
        )

    async def finish_run(self, run_id: UUID, *, error: str | None = None) -> CleanupRunView:
        """Close a run; a run expiring more than the alert threshold logs a warning and writes an outbox event.

        Returns:
            The run as recorded.
        """
        now = self._config.clock.now()
        run = await self._db.get_one(CleanupRun, run_id, populate_existing=True, with_for_update=True)
        run.finished_at = now
        run.updated_at = now
        if error is not None:
            run.error = clip(error)
        view = run_view(run)
        threshold = self._config.stale_cleanup_alert_threshold
        if run.expired_count > threshold:
            logger.warning(
                "payguard: a %s cleanup run expired %d stale pending payments (alert threshold %d): "
                "many abandoned payments at once usually means checkout is failing somewhere.",
                run.trigger.value,
                run.expired_count,
                threshold,
            )
            await self._alert(run, view, now)
        await self._db.flush()
        return view

    async def _alert(self, run: CleanupRun, view: CleanupRunView, now: datetime) -> None:
        """Write the large-run event in a savepoint: an alert that cannot be stored must not leave the run open."""
        try:
            async with self._db.begin_nested():
                self._outbox.record(
                    merchant_id=run.merchant_id, type=LARGE_CLEANUP_EVENT, subject_id=run.id, payload=view, at=now
                )
                await self._db.flush()
        except SQLAlchemyError as exc:
            logger.error(
                "payguard: the %s event of cleanup run %s could not be stored: %r", LARGE_CLEANUP_EVENT, run.id, exc
            )

    async def clean_up_own(self, owner: Principal) -> CleanupRunView | None:
        """A customer's own clean-up: expire their stale pending payments now, recorded as a ``customer`` run.

        One transaction (the caller's). A clean-up that expires nothing leaves no run behind: customers call
        this freely, and the run table must not grow with calls that changed nothing.

        Returns:
            The run, or ``None`` when nothing was stale.
        """
        now = self._config.clock.now()
        savepoint = await self._db.begin_nested()
        run = await self.start_run(CleanupTrigger.CUSTOMER, at=now, owner=owner)
        cutoff, expired = now - stale_window(self._config), 0
        while True:
            batch = await self.expire_batch(run.id, cutoff=cutoff, limit=_OWN_BATCH, owner=owner)
            expired += batch.count
            if batch.count < _OWN_BATCH:
                break
        if not expired:
            await savepoint.rollback()
            return None
        await savepoint.commit()
        return await self.finish_run(run.id)

    # What admins watch.

    async def stats(self) -> CleanupStats:
        """Counts of every run, the last run and error, the switch, health and the next scheduled run."""
        return await cleanup_stats(self._db, self._config, await self._control())

    async def pending_stats(self, *, owner: Principal | None = None) -> PendingStats:
        """The merchant's open payments now: counts by status, how many are stale, and their ages in buckets."""
        merchant_id = Principal.acting(owner, self._owner).merchant_id
        return await pending_stats(self._db, self._config, merchant_id)
