"""The summary of a session, computed from its event log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from litestar_payguard.models import SESSION_TERMINAL, CheckoutSession, InterruptKind, SessionEvent, SessionEventType
from litestar_payguard.schemas.sessions import AttemptSummary, SessionSummary

__all__ = ("build_summary",)

_STARTS = frozenset({SessionEventType.CREATED, SessionEventType.RESUMED})
# Events at the same instant: a new attempt starts after the previous one ended, and the session ends last.
_RANK = {SessionEventType.INTERRUPTED: 0, SessionEventType.CREATED: 1, SessionEventType.RESUMED: 1}


def _ms(start: datetime, end: datetime) -> int:
    return max(0, round((end - start).total_seconds() * 1000))


def build_summary(session: CheckoutSession, events: Iterable[SessionEvent], now: datetime) -> SessionSummary:
    """Summarise attempts (start, end, outcome, duration), interruptions by kind, and the outcome."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.attempt, _RANK.get(e.type, 2)))
    attempts: dict[int, AttemptSummary] = {}
    interruptions = {kind.value: 0 for kind in InterruptKind}
    for event in ordered:
        if event.type in _STARTS:
            attempts[event.attempt] = AttemptSummary(
                number=event.attempt,
                started_at=event.occurred_at,
                ended_at=None,
                outcome="in_progress",
                interruption_kind=None,
                detail=None,
                duration_ms=0,
            )
            continue
        if event.type is SessionEventType.SUBMITTED:  # the attempt goes on while the gateway confirms
            continue
        if event.type is SessionEventType.INTERRUPTED and event.kind is not None:
            interruptions[event.kind.value] += 1
        attempt = attempts.get(event.attempt)
        if attempt is not None and attempt.ended_at is None:
            attempt.ended_at = event.occurred_at
            attempt.outcome = event.type.value
            attempt.interruption_kind = event.kind
            attempt.detail = event.detail
    for attempt in attempts.values():
        attempt.duration_ms = _ms(attempt.started_at, attempt.ended_at or now)
    ended = session.ended_at if session.status in SESSION_TERMINAL else None
    return SessionSummary(
        session_id=session.id,
        status=session.status,
        outcome=session.status.value if session.status in SESSION_TERMINAL else "in_progress",
        attempts=[attempts[n] for n in sorted(attempts)],
        interruptions=interruptions,
        total_interruptions=sum(interruptions.values()),
        started_at=session.created_at,
        ended_at=ended,
        total_duration_ms=_ms(session.created_at, ended or now),
    )
