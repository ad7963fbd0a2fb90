"""When a failed webhook delivery is tried again: the retry schedule, its jitter, and the receiver's Retry-After.

A schedule lists the delays between attempts, as Svix's does: ``(60, 300, 1800, 7200)`` tries a delivery at once,
then 1 minute after that attempt failed, 5 minutes after the second failed, 30 minutes and 2 hours later: five
attempts in all. Each delay moves by up to ``jitter`` either way, so receivers that came back at once are not all
retried in the same second. A receiver answering 429 or 503 may ask for more time with ``Retry-After``; it gets at
most twice the scheduled delay, and never less than it, so a wrong header can neither hammer nor stall it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("attempts_allowed", "retry_after_delay", "retry_delay")


def attempts_allowed(schedule: Sequence[float]) -> int:
    """How many attempts a delivery gets: the first one, and one after each delay of the schedule."""
    return len(schedule) + 1


def retry_delay(
    failed_attempts: int, schedule: Sequence[float], *, jitter: float, rng: random.Random | None = None
) -> timedelta | None:
    """The wait before the next attempt, after ``failed_attempts`` attempts failed; ``None``: none is left.

    Args:
        failed_attempts: Attempts made so far, all failed (1 after the first try).
        schedule: Delays in seconds between attempts.
        jitter: Share of the delay it may move either way (0.2: between 80 % and 120 %).
        rng: The source of the jitter (a seeded one in tests); the module's by default.
    """
    if failed_attempts < 1:
        msg = f"failed_attempts must be at least 1, not {failed_attempts}"
        raise ValueError(msg)
    if failed_attempts > len(schedule):
        return None
    factor = 1 + (rng or random).uniform(-jitter, jitter)  # spreading retries, not a secret
    return timedelta(seconds=schedule[failed_attempts - 1] * factor)


def retry_after_delay(scheduled: timedelta, retry_after: str | None, now: datetime) -> timedelta:
    """The wait a receiver's ``Retry-After`` asks for, held between ``scheduled`` and twice it.

    ``Retry-After`` is seconds (``120``) or an HTTP date (``Wed, 21 Oct 2026 07:28:00 GMT``); a header that is
    neither, or absent, leaves the scheduled delay.
    """
    asked = _parse_retry_after(retry_after, now)
    if asked is None:
        return scheduled
    return min(max(asked, scheduled), scheduled * 2)


def _parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    if value is None or not (text := value.strip()):
        return None
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT; parsedate gives -0000 as naive
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))
