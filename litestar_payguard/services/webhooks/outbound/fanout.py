"""Turning outbox events into webhook deliveries: one per enabled endpoint of the merchant whose filter matches.

Every state change writes its ``payguard_event`` row in the transaction that makes the change, by the ORM or by
a single SQL statement; this step reads the rows not fanned out yet, oldest first, and writes their deliveries in
one transaction with the mark that they were fanned out. Rows another worker is fanning out are skipped
(``SKIP LOCKED``; SQLite runs one writer at a time), and a delivery is unique per endpoint and event, so two
workers never create the same delivery twice, and a worker that dies mid-batch leaves the batch for the next.

An endpoint receives the events written after it was created, never older ones. ``webhook.test`` goes to the
one endpoint it names (its subject), whatever that endpoint's filter; events about the deployment itself (no
merchant) are marked and never delivered.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from litestar_payguard.models import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookEndpoint
from litestar_payguard.services.webhooks.event_types import TEST_EVENT, matches

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("FAN_OUT_BATCH_SIZE", "FanOut", "fan_out", "receives")

FAN_OUT_BATCH_SIZE = 200
"""Events fanned out per transaction."""


@dataclass(slots=True)
class FanOut:
    """What one batch did.

    Attributes:
        events: Events marked as fanned out (delivered to nobody included).
        deliveries: The deliveries created, due at once: ``(delivery id, due time)``.
        endpoints: The endpoints that got deliveries, each with its first one: ``{endpoint id: (delivery id,
            due time)}``. That delivery's job delivers the others with it
            (:meth:`~.deliver.WebhookDeliverer.deliver_due`).
    """

    events: int = 0
    deliveries: list[tuple[UUID, datetime]] = field(default_factory=list)
    endpoints: dict[UUID, tuple[UUID, datetime]] = field(default_factory=dict)


def receives(endpoint: WebhookEndpoint, event: OutboxEvent) -> bool:
    """Whether ``endpoint`` gets a delivery of ``event`` (the endpoint is the event's merchant's, and enabled)."""
    if event.type == TEST_EVENT:
        return event.subject_id == endpoint.id
    return endpoint.created_at <= event.created_at and matches(endpoint.event_types, event.type)


async def fan_out(db: AsyncSession, now: datetime, *, batch_size: int = FAN_OUT_BATCH_SIZE) -> FanOut:
    """Create the deliveries of the oldest events not fanned out yet, and mark them; the caller commits."""
    events = list(
        await db.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.fanned_out_at.is_(None))
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
    )
    done = FanOut(events=len(events))
    endpoints = await _endpoints(db, {event.merchant_id for event in events if event.merchant_id is not None})
    created = []
    for event in events:
        event.fanned_out_at = now
        for endpoint in endpoints.get(event.merchant_id, ()) if event.merchant_id is not None else ():
            if receives(endpoint, event):
                created.append(
                    WebhookDelivery(
                        endpoint_id=endpoint.id,
                        event_id=event.id,
                        event_type=event.type,
                        status=DeliveryStatus.PENDING,
                        attempts=0,
                        next_attempt_at=now,
                    )
                )
    db.add_all(created)
    await db.flush()
    done.deliveries = [(delivery.id, now) for delivery in created]
    for delivery in created:
        done.endpoints.setdefault(delivery.endpoint_id, (delivery.id, now))
    return done


async def _endpoints(db: AsyncSession, merchant_ids: set[UUID]) -> dict[UUID, list[WebhookEndpoint]]:
    """The enabled, not deleted endpoints of these merchants, by merchant."""
    if not merchant_ids:
        return {}
    rows = await db.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.merchant_id.in_(merchant_ids),
            WebhookEndpoint.enabled.is_(True),
            WebhookEndpoint.deleted_at.is_(None),
        )
    )
    by_merchant: dict[UUID, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in rows:
        by_merchant[endpoint.merchant_id].append(endpoint)
    return by_merchant
