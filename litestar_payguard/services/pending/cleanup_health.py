"""Rules of the cleanup service, as pure functions: its schedule, its health, the age buckets admins see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from croniter import croniter

__all__ = ("AGE_BUCKETS", "RUN_TIMEOUT_SECONDS", "Health", "health", "next_run", "schedule_interval")

AGE_BUCKETS: Final = ((0, 5), (5, 15), (15, 30), (30, 60), (60, 240), (240, None))
"""Age ranges of open payments in minutes, ``[low, high)``; the last one is open-ended."""

RUN_TIMEOUT_SECONDS: Final = 1800
"""How long SAQ lets a scheduled run take: a run still unfinished after it died or was cancelled."""

HEALTHY, STOPPED, FAILING, LAGGING = "healthy", "stopped", "failing", "lagging"


@dataclass(frozen=True, slots=True)
class Health:
    """A one-word status and the sentence explaining it."""

    status: str
    detail: str


def next_run(cron: str, now: datetime) -> datetime:
    """The schedule's next tick after ``now`` (cron in UTC, as the worker schedules it)."""
    tick: datetime = croniter(cron, now).get_next(datetime)
    return tick


def schedule_interval(cron: str, now: datetime) -> timedelta:
    """The gap between the schedule's next two ticks."""
    ticks = croniter(cron, now)
    first: datetime = ticks.get_next(datetime)
    second: datetime = ticks.get_next(datetime)
    return second - first


def health(
    *,
    enabled: bool,
    last_service_error: str | None,
    oldest_stale_since: datetime | None,
    unfinished_since: datetime | None = None,
    now: datetime,
    interval: timedelta,
) -> Health:
    """Judge the service.

    Args:
        enabled: The persisted switch.
        last_service_error: The error of the latest scheduled or forced run, if it failed.
        oldest_stale_since: When the oldest pending payment became stale (``None``: none is stale).
        unfinished_since: When the latest scheduled or forced run started, if it has not finished.
        now: The current time.
        interval: The gap between scheduled runs.
    """
    if not enabled:
        return Health(
            STOPPED,
            "Stopped by an admin: scheduled runs are skipped. A stale payment still stops blocking its bundle "
            "when its customer pays again or cleans up.",
        )
    if last_service_error is not None:
        return Health(FAILING, f"The last run failed: {last_service_error}")
    if unfinished_since is not None and now - unfinished_since > timedelta(seconds=RUN_TIMEOUT_SECONDS):
        return Health(
            FAILING,
            f"The last run started at {unfinished_since.isoformat()} and never finished: its worker died or it "
            "timed out (its committed batches stand).",
        )
    if oldest_stale_since is not None and now - oldest_stale_since > 2 * interval:
        minutes = int((now - oldest_stale_since).total_seconds() // 60)
        return Health(
            LAGGING,
            f"A pending payment has been stale for {minutes} minutes while the cleanup runs every "
            f"{int(interval.total_seconds() // 60)} minutes: is a payguard worker running?",
        )
    return Health(HEALTHY, "Running on schedule.")
