"""Time as an injectable dependency, so tests move it instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = ("Clock", "SystemClock")


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    __slots__ = ()

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)
