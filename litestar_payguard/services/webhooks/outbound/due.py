"""Which deliveries are due: pending, their time come, and held by no attempt (no lease, or one that ran out)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select

from litestar_payguard.models import DeliveryStatus, WebhookDelivery

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("DUE_ORDER", "attempts_held", "due_now", "in_flight", "lock_due", "next_due")

DUE_ORDER = (WebhookDelivery.next_attempt_at, WebhookDelivery.id)
"""The order due deliveries are taken in, everywhere: the longest due first, then by id (fan-out gives a whole
batch one due time), so the sweep's pick is the one a run takes first."""


def due_now(now: datetime, endpoint_id: UUID | None = None) -> tuple[ColumnElement[bool], ...]:
    """The conditions of a delivery due at ``now`` that no attempt holds (``endpoint_id``: of that endpoint)."""
    conditions = (
        WebhookDelivery.status == DeliveryStatus.PENDING,
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until <= now),
    )
    return conditions if endpoint_id is None else (WebhookDelivery.endpoint_id == endpoint_id, *conditions)


async def lock_due(
    db: AsyncSession, endpoint_id: UUID, now: datetime, limit: int, *, besides: UUID | None = None
) -> list[WebhookDelivery]:
    """Lock up to ``limit`` of the endpoint's due deliveries, the longest due first (``besides``: but that one).

    Rows another transaction holds are skipped (on Postgres; SQLite runs one writer at a time).
    """
    if limit <= 0:
        return []
    statement = (
        select(WebhookDelivery)
        .where(*due_now(now, endpoint_id))
        .order_by(*DUE_ORDER)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if besides is not None:
        statement = statement.where(WebhookDelivery.id != besides)
    return list(await db.scalars(statement))


async def next_due(db: AsyncSession, endpoint_id: UUID, now: datetime) -> tuple[UUID, datetime] | None:
    """The endpoint's longest due delivery and its due time, if it has one."""
    row = (
        await db.execute(
            select(WebhookDelivery.id, WebhookDelivery.next_attempt_at)
            .where(*due_now(now, endpoint_id))
            .order_by(*DUE_ORDER)
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def in_flight(db: AsyncSession, endpoint_id: UUID, now: datetime) -> int:
    """How many of the endpoint's deliveries an attempt holds right now."""
    count = await db.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.lease_until > now)
    )
    return int(count or 0)


async def attempts_held(db: AsyncSession, endpoint_ids: set[UUID], now: datetime) -> dict[UUID, int]:
    """How many of each endpoint's deliveries an attempt holds right now (endpoints with none are left out)."""
    rows = await db.execute(
        select(WebhookDelivery.endpoint_id, func.count())
        .where(WebhookDelivery.endpoint_id.in_(endpoint_ids), WebhookDelivery.lease_until > now)
        .group_by(WebhookDelivery.endpoint_id)
    )
    return {endpoint_id: int(count) for endpoint_id, count in rows}
