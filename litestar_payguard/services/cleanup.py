"""The stale-payment cleanup, one transaction at a time: expire a batch, record runs, the switch, statistics.

A run spans several transactions (see :class:`~litestar_payguard.services.cleanup_runner.StaleCleanup`); this
service does the work of one of them in the session it is given, and never commits.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID, uuid4

import msgspec
from sqlalchemy import bindparam, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from litestar_payguard.models import CleanupRun, CleanupTrigger, JobControl, OutboxEvent, Payment, PaymentStatus
from litestar_payguard.principal import Principal
from litestar_payguard.schemas.cleanup import (
    AgeBucket,
    CleanupError,
    CleanupRunView,
    CleanupStats,
    PendingStats,
    TriggerCounts,
    run_view,
)
from litestar_payguard.schemas.payments import Payment as PaymentView
from litestar_payguard.services import cleanup_rules as rules
from litestar_payguard.services.outbox import Outbox

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("CLEANUP_JOB", "LARGE_CLEANUP_EVENT", "CleanupService")

logger = logging.getLogger("litestar_payguard.cleanup")

CLEANUP_JOB = "stale_cleanup"
"""Name of the cleanup's switch in ``payguard_job_control``."""
LARGE_CLEANUP_EVENT = "payguard.cleanup.large"
"""Outbox event of a run that expired more payments than ``PayGuardConfig.stale_cleanup_alert_threshold``."""

_PAYMENTS = cast("Table", Payment.__table__)
_RUNS = cast("Table", CleanupRun.__table__)
_payment = _PAYMENTS.c
_RETURNED = (
    _payment.id,
    _payment.merchant_id,
    _payment.customer_id,
    _payment.bundle_id,
    _payment.plan_name,
    _payment.amount,
    _payment.currency,
    _payment.amount_refunded,
    _payment.gateway,
    _payment.gateway_payment_id,
    _payment.metadata,
    _payment.created_at,
)


def _expire_statement(*, owned: bool) -> Any:
    """``UPDATE … RETURNING`` expiring up to ``:limit`` stale pending payments, oldest first.

    The rows are picked ``FOR UPDATE SKIP LOCKED``: a row another transaction holds (another run, a customer
    paying again) is left to it, so concurrent runs never expire a payment twice. ``status = 'pending'`` is
    checked again on the row the UPDATE locks. The pick is a CTE, computed once: as an ``IN (subquery)`` the
    planner may run it again per row and update more than ``:limit`` rows.
    """
    picked = (
        select(_payment.id)
        .where(_payment.status == PaymentStatus.PENDING, _payment.created_at <= bindparam("cutoff"))
        .order_by(_payment.created_at)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    if owned:
        picked = picked.where(
            _payment.merchant_id == bindparam("owner_merchant"), _payment.customer_id == bindparam("owner_customer")
        )
    stale = picked.cte("stale")
    return (
        update(_PAYMENTS)
        .where(_payment.id.in_(select(stale.c.id)), _payment.status == PaymentStatus.PENDING)
        .values(
            status=PaymentStatus.EXPIRED,
            failure_code="stale",
            failure_message=None,
            updated_at=bindparam("now"),
        )
        .returning(*_RETURNED)
    )


# Built once, so their compiled form is cached: a run executes them once per batch.
_EXPIRE_ANY = _expire_statement(owned=False)
_EXPIRE_OWNED = _expire_statement(owned=True)
_INSERT_EVENTS = insert(cast("Table", OutboxEvent.__table__))
_COUNT_BATCH = (
    update(_RUNS)
    .where(_RUNS.c.id == bindparam("run_id"))
    .values(
        expired_count=_RUNS.c.expired_count + bindparam("expired"),
        batches=_RUNS.c.batches + 1,
        updated_at=bindparam("now"),
    )
)
_SERVICE_TRIGGERS = (CleanupTrigger.CRON, CleanupTrigger.MANUAL)


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

    @property
    def stale_window(self) -> timedelta:
        """How old a pending payment is when it becomes stale."""
        return timedelta(seconds=self._config.stale_pending_seconds)

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

    async def expire_batch(self, run_id: UUID, *, cutoff: datetime, limit: int, owner: Principal | None = None) -> int:
        """Expire up to ``limit`` pending payments created at or before ``cutoff``, and count them on the run.

        Each expired payment gets its ``payment.expired`` outbox event in the same transaction, as a payment
        expired by the pending guard does.

        Args:
            run_id: The run to count the batch on.
            cutoff: Payments created at or before it are stale.
            limit: Most payments to expire in this call.
            owner: Only this customer's payments (a customer's own clean-up).

        Returns:
            How many payments this call expired; fewer than ``limit`` means none are left (but those held by
            another transaction right now).
        """
        now = self._config.clock.now()
        params: dict[str, Any] = {"cutoff": cutoff, "limit": limit, "now": now}
        if owner is not None:
            params |= {"owner_merchant": owner.merchant_id, "owner_customer": owner.require_customer()}
        rows = (await self._db.execute(_EXPIRE_OWNED if owner else _EXPIRE_ANY, params)).all()
        if rows:
            await self._db.execute(_INSERT_EVENTS, [self._expired_event(row, now) for row in rows])
        await self._db.execute(_COUNT_BATCH, {"run_id": run_id, "expired": len(rows), "now": now})
        return len(rows)

    @staticmethod
    def _expired_event(row: Any, now: datetime) -> dict[str, Any]:
        """The outbox row of a payment this cleanup expired, its payload rendered as the API renders payments."""
        view = PaymentView(
            id=row.id,
            status=PaymentStatus.EXPIRED,
            customer_id=row.customer_id,
            bundle_id=row.bundle_id,
            plan_name=row.plan_name,
            amount=row.amount,
            currency=row.currency,
            amount_refunded=row.amount_refunded,
            gateway=row.gateway,
            gateway_payment_id=row.gateway_payment_id,
            failure_code="stale",
            failure_message=None,
            metadata=row.metadata,
            created_at=row.created_at,
        )
        return {
            "id": uuid4(),
            "merchant_id": row.merchant_id,
            "type": f"payment.{PaymentStatus.EXPIRED.value}",
            "subject_id": row.id,
            "payload": msgspec.to_builtins(view),
            "occurred_at": now,
            "created_at": now,
            "updated_at": now,
        }

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
            run.error = error[:500]
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
            self._outbox.record(
                merchant_id=run.merchant_id, type=LARGE_CLEANUP_EVENT, subject_id=run.id, payload=view, at=now
            )
        await self._db.flush()
        return view

    async def clean_up_own(self, owner: Principal) -> CleanupRunView:
        """A customer's own clean-up: expire their stale pending payments now, recorded as a ``customer`` run.

        One transaction (the caller's): a customer has at most one open payment per bundle.
        """
        now = self._config.clock.now()
        run = await self.start_run(CleanupTrigger.CUSTOMER, at=now, owner=owner)
        size = self._config.stale_cleanup_batch_size
        while await self.expire_batch(run.id, cutoff=now - self.stale_window, limit=size, owner=owner) == size:
            pass
        return await self.finish_run(run.id)

    # What admins watch.

    async def stats(self) -> CleanupStats:
        """Counts of every run, the last run and error, the switch, health and the next scheduled run."""
        now = self._config.clock.now()
        runs = _RUNS.c
        by_trigger = {
            trigger: TriggerCounts(runs=count, expired=int(expired or 0))
            for trigger, count, expired in (
                await self._db.execute(
                    select(runs.trigger, func.count(), func.sum(runs.expired_count)).group_by(runs.trigger)
                )
            ).all()
        }
        error_count = await self._db.scalar(select(func.count()).where(runs.error.is_not(None))) or 0
        latest = select(CleanupRun).order_by(CleanupRun.started_at.desc(), CleanupRun.id.desc()).limit(1)
        last_run = await self._db.scalar(latest)
        last_failed = await self._db.scalar(latest.where(CleanupRun.error.is_not(None)))
        last_service_run = await self._db.scalar(latest.where(CleanupRun.trigger.in_(_SERVICE_TRIGGERS)))
        stale_count, oldest_stale = (
            await self._db.execute(
                select(func.count(), func.min(_payment.created_at)).where(
                    _payment.status == PaymentStatus.PENDING, _payment.created_at <= now - self.stale_window
                )
            )
        ).one()
        control = await self._control()
        enabled = control is None or control.enabled
        cron = self._config.stale_cleanup_cron
        judged = rules.health(
            enabled=enabled,
            last_service_error=last_service_run.error if last_service_run else None,
            oldest_stale_since=oldest_stale + self.stale_window if oldest_stale else None,
            now=now,
            interval=rules.schedule_interval(cron, now),
        )
        return CleanupStats(
            enabled=enabled,
            enabled_changed_at=control.changed_at if control else None,
            health=judged.status,
            health_detail=judged.detail,
            schedule=cron,
            next_scheduled_run=rules.next_run(cron, now) if enabled else None,
            stale_after_minutes=self._config.stale_pending_seconds / 60,
            alert_threshold=self._config.stale_cleanup_alert_threshold,
            runs=sum(counts.runs for counts in by_trigger.values()),
            payments_expired=sum(counts.expired for counts in by_trigger.values()),
            error_count=error_count,
            by_trigger=by_trigger,
            last_run=run_view(last_run) if last_run else None,
            last_error=_last_error(last_failed),
            stale_pending=stale_count,
        )

    async def pending_stats(self, *, owner: Principal | None = None) -> PendingStats:
        """The merchant's open payments now: counts by status, how many are stale, and their ages in buckets."""
        merchant_id = Principal.acting(owner, self._owner).merchant_id
        now = self._config.clock.now()
        count = func.count()
        pending = _payment.status == PaymentStatus.PENDING
        age_columns = [
            count.filter(
                _payment.created_at <= now - timedelta(minutes=low),
                _payment.created_at > now - timedelta(minutes=high) if high is not None else true(),
            )
            for low, high in rules.AGE_BUCKETS
        ]
        row = (
            await self._db.execute(
                select(
                    count.filter(pending),
                    count.filter(_payment.status == PaymentStatus.PROCESSING),
                    count.filter(pending, _payment.created_at <= now - self.stale_window),
                    func.min(_payment.created_at),
                    *age_columns,
                ).where(
                    _payment.merchant_id == merchant_id,
                    _payment.status.in_((PaymentStatus.PENDING, PaymentStatus.PROCESSING)),
                )
            )
        ).one()
        pending_count, processing_count, stale_count, oldest, *bucket_counts = row
        return PendingStats(
            open=pending_count + processing_count,
            pending=pending_count,
            processing=processing_count,
            stale=stale_count,
            stale_after_minutes=self._config.stale_pending_seconds / 60,
            oldest_age_minutes=max(0, int((now - oldest).total_seconds() // 60)) if oldest else None,
            age_buckets=[
                AgeBucket(
                    label=f"{low}-{high}m" if high is not None else f"{low}m+",
                    min_minutes=low,
                    max_minutes=high,
                    count=bucket_count,
                )
                for (low, high), bucket_count in zip(rules.AGE_BUCKETS, bucket_counts, strict=True)
            ],
        )


def _last_error(run: CleanupRun | None) -> CleanupError | None:
    if run is None or run.error is None:
        return None
    return CleanupError(run_id=run.id, at=run.finished_at or run.started_at, message=run.error)
