"""Schemas of the stale-payment cleanup and of the pending-payment statistics admins watch."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from litestar_payguard.models import CleanupRun, CleanupTrigger
from litestar_payguard.schemas.base import CamelStruct

__all__ = ("AgeBucket", "CleanupError", "CleanupRunView", "CleanupStats", "PendingStats", "TriggerCounts", "run_view")


class CleanupRunView(CamelStruct):
    """One run of the cleanup; ``finishedAt`` is unset while it runs (or if its worker died)."""

    id: UUID
    trigger: CleanupTrigger
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    expired: int
    batches: int
    error: str | None


def run_view(run: CleanupRun) -> CleanupRunView:
    """Render a run."""
    duration = None
    if run.finished_at is not None:
        duration = round((run.finished_at - run.started_at).total_seconds() * 1000)
    return CleanupRunView(
        id=run.id,
        trigger=run.trigger,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_ms=duration,
        expired=run.expired_count,
        batches=run.batches,
        error=run.error,
    )


class TriggerCounts(CamelStruct):
    """Runs of one trigger, and the payments they expired."""

    runs: int
    expired: int


class CleanupError(CamelStruct):
    """The most recent run that failed."""

    run_id: UUID
    at: datetime
    message: str


class CleanupStats(CamelStruct):
    """How the cleanup service is doing, deployment-wide."""

    enabled: bool
    """The persisted switch (``/admin/cleanup/stop`` and ``/start``); scheduled runs skip while it is off."""
    enabled_changed_at: datetime | None
    health: str
    """``healthy``, ``stopped``, ``failing`` (the last scheduled or forced run failed) or ``lagging`` (a payment
    has been stale for longer than two schedule intervals: is a worker running?)."""
    health_detail: str
    schedule: str
    next_scheduled_run: datetime | None
    """The next tick of the schedule (UTC); ``null`` while stopped."""
    stale_after_minutes: float
    alert_threshold: int
    runs: int
    payments_expired: int
    error_count: int
    by_trigger: dict[CleanupTrigger, TriggerCounts]
    last_run: CleanupRunView | None
    """The latest scheduled or forced run (customers' own clean-ups are counted in ``byTrigger`` only)."""
    last_error: CleanupError | None
    stale_pending: int
    """Pending payments past the stale window right now: what the next run will expire."""


class AgeBucket(CamelStruct):
    """Open payments whose age in minutes is in ``[minMinutes, maxMinutes)``."""

    label: str
    min_minutes: int
    max_minutes: int | None
    count: int


class PendingStats(CamelStruct):
    """The merchant's open payments right now."""

    open: int
    pending: int
    processing: int
    stale: int
    """Pending payments past the stale window (a ``processing`` one is never stale by age)."""
    stale_after_minutes: float
    oldest_age_minutes: int | None
    age_buckets: list[AgeBucket]
