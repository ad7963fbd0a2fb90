"""The merchant's events (the outbox rows of its resources), and their purge once past the retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec
from sqlalchemy import delete, select

from litestar_payguard.exceptions import NotFoundError
from litestar_payguard.ids import as_uuid
from litestar_payguard.models import OutboxEvent, WebhookAttempt, WebhookDelivery
from litestar_payguard.schemas.webhooks import Event, EventPage, EventType, EventTypeList, event_view
from litestar_payguard.services.paging import check_offsets, page_after, split_page
from litestar_payguard.services.scoped import MerchantScoped
from litestar_payguard.services.webhooks.event_types import EVENT_TYPES, WILDCARD

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


__all__ = (
    "EVENT_PURGE_BATCH_SIZE",
    "EventFilter",
    "EventNotFoundError",
    "EventService",
    "purge_old_events",
)

EVENT_PURGE_BATCH_SIZE = 500
"""Events one purge transaction deletes, with their deliveries and attempts."""


class EventNotFoundError(NotFoundError):
    """No such event of this merchant (another merchant's looks the same)."""

    code = "EVENT_NOT_FOUND"
    title = "Event not found"


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events to list."""

    type: str | None = None
    """An exact type, or a prefix wildcard (``refund.*``)."""
    created_from: datetime | None = None
    """Inclusive."""
    created_to: datetime | None = None
    """Exclusive."""


class EventService(MerchantScoped):
    """Reads a merchant's events."""

    __slots__ = ()

    @staticmethod
    def event_types() -> EventTypeList:
        """Every type payguard sends to merchants, with a description and an example of its ``data``."""
        return EventTypeList(items=[_type_view(info.type, info.description, info.example) for info in EVENT_TYPES])

    async def list(self, where: EventFilter, *, limit: int, cursor: str | None = None) -> EventPage:
        """A page of the merchant's events, newest first, after ``cursor``.

        Raises:
            ValidationFailedError: A time of the filter without its UTC offset.
            InvalidCursorError: A cursor this API did not give out.
        """
        check_offsets(createdFrom=where.created_from, createdTo=where.created_to)
        statement = select(OutboxEvent).where(OutboxEvent.merchant_id == self._merchant_id)
        if where.type is not None and where.type.endswith(WILDCARD):
            prefix = where.type[: -len(WILDCARD)] + "."
            statement = statement.where(OutboxEvent.type.startswith(prefix, autoescape=True))
        elif where.type is not None:
            statement = statement.where(OutboxEvent.type == where.type)
        if where.created_from is not None:
            statement = statement.where(OutboxEvent.created_at >= where.created_from)
        if where.created_to is not None:
            statement = statement.where(OutboxEvent.created_at < where.created_to)
        rows = list(
            await self._db.scalars(
                page_after(statement, OutboxEvent.created_at, OutboxEvent.id, cursor=cursor, limit=limit)
            )
        )
        page, next_cursor = split_page(rows, limit)
        return EventPage(items=[event_view(event) for event in page], limit=limit, next_cursor=next_cursor)

    async def get(self, event_id: str | UUID) -> Event:
        """The merchant's event, with the snapshot stored when it happened.

        Raises:
            EventNotFoundError: No such event of this merchant (or it was purged).
        """
        key = as_uuid(event_id)
        event = None
        if key is not None:
            event = await self._db.scalar(
                select(OutboxEvent).where(OutboxEvent.id == key, OutboxEvent.merchant_id == self._merchant_id)
            )
        if event is None:
            msg = f"No event {event_id}."
            raise EventNotFoundError(msg)
        return event_view(event)


def _type_view(name: str, description: str, example: msgspec.Struct) -> EventType:
    return EventType(type=name, description=description, example=msgspec.to_builtins(example))


async def purge_old_events(db: AsyncSession, *, now: datetime, retention: timedelta, batch_size: int) -> int:
    """Delete one batch of events created longer than ``retention`` before ``now``, with their deliveries.

    Attempts go first, then deliveries, then events: the foreign keys point that way.

    Returns:
        How many events it deleted (fewer than ``batch_size`` means none are left).
    """
    before = now - retention
    ids = list(
        await db.scalars(
            select(OutboxEvent.id)
            .where(OutboxEvent.created_at < before)
            .order_by(OutboxEvent.created_at)
            .limit(batch_size)
        )
    )
    if not ids:
        return 0
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(ids)).scalar_subquery()
    await db.execute(
        delete(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(deliveries))
        .execution_options(synchronize_session=False)
    )
    await db.execute(
        delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(ids)).execution_options(synchronize_session=False)
    )
    await db.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)).execution_options(synchronize_session=False))
    return len(ids)
