"""Writes state changes to the outbox, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from litestar_payguard.models import OutboxEvent
from litestar_payguard.observability import count_events, stored_trace

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.clock import Clock

__all__ = ("Outbox",)


class Outbox:
    """Appends one ``payguard_event`` row per state change; delivery happens elsewhere, later."""

    __slots__ = ("_clock", "_db")

    def __init__(self, db: AsyncSession, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def record(
        self,
        *,
        merchant_id: UUID | None,
        type: str,  # noqa: A002  # the event's type, as stored
        subject_id: UUID,
        payload: msgspec.Struct,
        at: datetime,
    ) -> OutboxEvent:
        """Add an event to the current transaction.

        Args:
            merchant_id: Tenant of the changed resource; ``None`` for a deployment-wide event.
            type: ``<resource>.<change>``.
            subject_id: Id of the changed resource.
            payload: Snapshot of the resource after the change, as the API renders it.
            at: When the change happened; the row's ``created_at`` is when it is written.
        """
        event = OutboxEvent(
            merchant_id=merchant_id,
            type=type,
            subject_id=subject_id,
            payload=msgspec.to_builtins(payload),
            occurred_at=at,
            created_at=self._clock.now(),
            trace_context=stored_trace(),  # its deliveries' spans continue the current one
        )
        self._db.add(event)
        count_events(self._db, type)
        return event
