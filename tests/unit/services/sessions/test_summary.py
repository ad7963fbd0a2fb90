"""The session summary, computed from an event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar_payguard.models import CheckoutSession, InterruptKind, SessionEvent, SessionEventType, SessionStatus
from litestar_payguard.services.sessions.summary import build_summary

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(kind: SessionEventType, attempt: int, seconds: float, interrupt: InterruptKind | None = None) -> SessionEvent:
    return SessionEvent(type=kind, attempt=attempt, occurred_at=T0 + timedelta(seconds=seconds), kind=interrupt)


def test_attempts_outcomes_and_durations() -> None:
    session = CheckoutSession(created_at=T0, status=SessionStatus.FAILED, ended_at=T0 + timedelta(seconds=70))
    log = [
        event(SessionEventType.FAILED, 3, 70),
        event(SessionEventType.CREATED, 1, 0),
        event(SessionEventType.INTERRUPTED, 1, 30, InterruptKind.TIMEOUT),
        event(SessionEventType.RESUMED, 2, 40),
        # Same instant: the superseded attempt ends before the next one starts.
        event(SessionEventType.RESUMED, 3, 50),
        event(SessionEventType.INTERRUPTED, 2, 50, InterruptKind.USER),
        event(SessionEventType.INTERRUPTED, 3, 60, InterruptKind.NETWORK),
    ]

    summary = build_summary(session, log, now=T0 + timedelta(seconds=500))

    assert [(a.number, a.outcome, a.interruption_kind, a.duration_ms) for a in summary.attempts] == [
        (1, "interrupted", InterruptKind.TIMEOUT, 30_000),
        (2, "interrupted", InterruptKind.USER, 10_000),
        (3, "interrupted", InterruptKind.NETWORK, 10_000),
    ]
    assert summary.interruptions == {"timeout": 1, "network": 1, "gateway": 0, "unload": 0, "user": 1}
    assert summary.total_interruptions == 3
    assert (summary.outcome, summary.total_duration_ms) == ("failed", 70_000)


def test_an_open_session_counts_up_to_now() -> None:
    session = CheckoutSession(created_at=T0, status=SessionStatus.ACTIVE, ended_at=None)
    summary = build_summary(session, [event(SessionEventType.CREATED, 1, 0)], now=T0 + timedelta(seconds=12))

    assert summary.outcome == "in_progress"
    assert summary.attempts[0].outcome == "in_progress"
    assert summary.attempts[0].ended_at is None
    assert summary.attempts[0].duration_ms == summary.total_duration_ms == 12_000
