"""What admins watch of the stale-payment cleanup: its runs and health, and the open payments it works on."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy import func, select, true

from litestar_payguard.models import CleanupRun, CleanupTrigger, Payment, PaymentStatus
from litestar_payguard.schemas.cleanup import (
    AgeBucket,
    CleanupError,
    CleanupStats,
    PendingStats,
    TriggerCounts,
    run_view,
)
from litestar_payguard.services.payments import owner_filter, stale_window
from litestar_payguard.services.pending import cleanup_health as rules

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.models import JobControl

__all__ = ("cleanup_stats", "pending_stats")

_RUNS = cast("Table", CleanupRun.__table__)
_payment = cast("Table", Payment.__table__).c
_SERVICE_TRIGGERS = (CleanupTrigger.CRON, CleanupTrigger.MANUAL)
"""The runs the service makes; a customer's own clean-up says nothing of its health."""


async def cleanup_stats(db: AsyncSession, config: PayGuardConfig, control: JobControl | None) -> CleanupStats:
    """Counts of every run, the last run and error, the switch, health and the next scheduled run.

    Args:
        db: The database session to read in.
        config: payguard's configuration.
        control: The cleanup's switch as stored (``None``: never set, so on).
    """
    now = config.clock.now()
    window = stale_window(config)
    by_trigger, error_count = await _run_counts(db)
    latest = (
        select(CleanupRun)
        .where(CleanupRun.trigger.in_(_SERVICE_TRIGGERS))
        .order_by(CleanupRun.started_at.desc(), CleanupRun.id.desc())
        .limit(1)
    )
    last_run = await db.scalar(latest)
    last_failed = await db.scalar(latest.where(CleanupRun.error.is_not(None)))
    stale_count, oldest_stale = (
        await db.execute(
            select(func.count(), func.min(_payment.created_at)).where(
                _payment.status == PaymentStatus.PENDING, _payment.created_at <= now - window
            )
        )
    ).one()
    enabled = control is None or control.enabled
    cron = config.stale_cleanup_cron
    judged = rules.health(
        enabled=enabled,
        last_service_error=last_run.error if last_run else None,
        unfinished_since=last_run.started_at if last_run and last_run.finished_at is None else None,
        oldest_stale_since=oldest_stale + window if oldest_stale else None,
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
        stale_after_minutes=config.stale_pending_seconds / 60,
        alert_threshold=config.stale_cleanup_alert_threshold,
        runs=sum(counts.runs for counts in by_trigger.values()),
        payments_expired=sum(counts.expired for counts in by_trigger.values()),
        error_count=error_count,
        by_trigger=by_trigger,
        last_run=run_view(last_run) if last_run else None,
        last_error=_last_error(last_failed),
        stale_pending=stale_count,
    )


async def _run_counts(db: AsyncSession) -> tuple[dict[CleanupTrigger, TriggerCounts], int]:
    """Runs and expired payments by trigger, and how many runs failed."""
    runs = _RUNS.c
    by_trigger = {
        trigger: TriggerCounts(runs=count, expired=int(expired or 0))
        for trigger, count, expired in (
            await db.execute(select(runs.trigger, func.count(), func.sum(runs.expired_count)).group_by(runs.trigger))
        ).all()
    }
    error_count = await db.scalar(select(func.count()).where(runs.error.is_not(None))) or 0
    return by_trigger, error_count


async def pending_stats(db: AsyncSession, config: PayGuardConfig, merchant_id: UUID) -> PendingStats:
    """The merchant's open payments now: counts by status, how many are stale, and their ages in buckets."""
    now = config.clock.now()
    window = stale_window(config)
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
        await db.execute(
            select(
                count.filter(pending),
                count.filter(_payment.status == PaymentStatus.PROCESSING),
                count.filter(pending, _payment.created_at <= now - window),
                func.min(_payment.created_at),
                *age_columns,
            ).where(
                owner_filter(Payment, merchant_id),
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
        stale_after_minutes=config.stale_pending_seconds / 60,
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
