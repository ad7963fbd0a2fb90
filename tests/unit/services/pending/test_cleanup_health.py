"""The cleanup service's pure rules: schedule and health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar_payguard.services.pending import cleanup_health as rules

NOW = datetime(2026, 3, 1, 12, 7, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


def test_the_next_run_is_the_next_tick_in_utc() -> None:
    assert rules.next_run("*/15 * * * *", NOW) == datetime(2026, 3, 1, 12, 15, tzinfo=UTC)
    assert rules.next_run("0 * * * *", NOW) == datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    # On a tick, the next one is the following tick.
    assert rules.next_run("*/15 * * * *", NOW.replace(minute=15)) == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def test_the_interval_is_the_gap_between_ticks() -> None:
    assert rules.schedule_interval("*/15 * * * *", NOW) == QUARTER
    assert rules.schedule_interval("0 3 * * *", NOW) == timedelta(days=1)


def _health(**overrides: object) -> rules.Health:
    arguments: dict[str, object] = {
        "enabled": True,
        "last_service_error": None,
        "oldest_stale_since": None,
        "now": NOW,
        "interval": QUARTER,
    }
    arguments.update(overrides)
    return rules.health(**arguments)  # type: ignore[arg-type]


def test_health_in_order_of_what_an_operator_must_know_first() -> None:
    assert _health().status == "healthy"
    assert _health(enabled=False, last_service_error="boom").status == "stopped"
    failing = _health(last_service_error="OperationalError: gone")
    assert (failing.status, failing.detail) == ("failing", "The last run failed: OperationalError: gone")
    assert _health(oldest_stale_since=NOW - 2 * QUARTER).status == "healthy"
    lagging = _health(oldest_stale_since=NOW - 2 * QUARTER - timedelta(seconds=1))
    assert lagging.status == "lagging"
    assert "stale for 30 minutes" in lagging.detail
    assert "every 15 minutes" in lagging.detail


def test_a_run_that_never_finished_fails_after_the_job_timeout() -> None:
    started = NOW - timedelta(seconds=rules.RUN_TIMEOUT_SECONDS)
    assert _health(unfinished_since=started).status == "healthy"  # may still be running
    late = _health(unfinished_since=started - timedelta(seconds=1))
    assert late.status == "failing"
    assert "never finished" in late.detail
