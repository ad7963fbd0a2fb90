"""The retry schedule of outbound webhooks: delays, jitter, exhaustion and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter
from hypothesis import given
from hypothesis import strategies as st

from litestar_payguard.services.webhooks import sweep_cron
from litestar_payguard.services.webhooks.outbound.schedule import attempts_allowed, retry_after_delay, retry_delay

LIVE = (60, 300, 1800, 7200)
TEST = (5, 10, 15, 20)
NOW = datetime(2026, 12, 3, 7, 28, tzinfo=UTC)


def test_the_default_schedule_gives_five_attempts_and_then_none() -> None:
    assert attempts_allowed(LIVE) == 5
    delays = [retry_delay(n, LIVE, jitter=0) for n in range(1, 6)]
    assert delays == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), None]


def test_the_test_mode_schedule_is_seconds() -> None:
    assert [retry_delay(n, TEST, jitter=0) for n in range(1, 5)] == [timedelta(seconds=s) for s in TEST]


@given(failed=st.integers(1, 4), seed=st.integers(0, 2**32))
def test_jitter_stays_within_twenty_percent(failed: int, seed: int) -> None:
    delay = retry_delay(failed, LIVE, jitter=0.2, rng=random.Random(seed))
    assert delay is not None
    base = LIVE[failed - 1]
    assert base * 0.8 <= delay.total_seconds() <= base * 1.2


def test_jitter_spreads_retries() -> None:
    rng = random.Random(7)
    delays = {retry_delay(1, LIVE, jitter=0.2, rng=rng) for _ in range(20)}
    assert len(delays) > 10


def test_no_attempt_before_the_first_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        retry_delay(0, LIVE, jitter=0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, 60),  # absent: the schedule
        ("", 60),
        ("soon", 60),  # neither seconds nor a date
        ("30", 60),  # less than scheduled: the schedule
        ("90", 90),  # between: as asked
        ("600", 120),  # more than twice: twice
        ("Thu, 03 Dec 2026 07:29:30 GMT", 90),  # an HTTP date, 90 s from now
        ("Thu, 03 Dec 2026 07:00:00 GMT", 60),  # a date past: the schedule
    ],
)
def test_retry_after_is_held_between_the_schedule_and_twice_it(header: str | None, expected: int) -> None:
    assert retry_after_delay(timedelta(seconds=60), header, NOW) == timedelta(seconds=expected)


@pytest.mark.parametrize(
    ("seconds", "cron"), [(30, "* * * * * */30"), (1, "* * * * * */1"), (0.5, "* * * * * */1"), (300, "*/5 * * * *")]
)
def test_the_sweep_runs_every_so_many_seconds(seconds: float, cron: str) -> None:
    assert sweep_cron(seconds) == cron
    assert croniter.is_valid(cron)
