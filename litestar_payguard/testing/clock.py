"""A clock tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ("ManualClock",)


class ManualClock:
    """A :class:`~litestar_payguard.clock.Clock` that stands still until told to move.

    Args:
        start: The initial time (timezone-aware); the current UTC time by default.
    """

    __slots__ = ("_now",)

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            msg = "ManualClock needs a timezone-aware start time"
            raise ValueError(msg)
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and return the new time."""
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to a given (timezone-aware) time."""
        self._now = moment.astimezone(UTC)
