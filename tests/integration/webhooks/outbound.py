"""Helpers of the outbound webhooks' API tests: merchants, endpoints, events and deliveries stored for them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from litestar_payguard import MerchantService
from litestar_payguard.models import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookEndpoint
from litestar_payguard.schemas.webhooks import WebhookTest
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.services.webhooks.outbound import SecretBox, is_sealed
from litestar_payguard.testing import ManualClock
from tests.hostapp import TEST_WEBHOOK_SECRET_KEY
from tests.integration.conftest import Client, Store, payguard_of

ENDPOINTS = "/payguard/v1/webhook-endpoints"
EVENTS = "/payguard/v1/events"
ACME = {"X-Api-Key": "key_acme", "X-Api-Secret": "secret_acme"}
GLOBEX = {"X-Api-Key": "key_globex", "X-Api-Secret": "secret_globex"}


async def seed_merchants(client: Client) -> dict[str, UUID]:
    """Acme and Globex, both in test mode; their ids by name."""
    async with payguard_of(client.app).db_session() as db:
        acme = await MerchantService(db).ensure("key_acme", name="Acme", secret="secret_acme")
        globex = await MerchantService(db).ensure("key_globex", name="Globex", secret="secret_globex")
        ids = {"acme": acme.id, "globex": globex.id}
        await db.commit()
        return ids


def keyed(headers: dict[str, str] = ACME, key: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key or uuid.uuid4().hex}


async def create_endpoint(client: Client, headers: dict[str, str] = ACME, **body: Any) -> dict[str, Any]:
    body.setdefault("url", f"https://hooks.example/{uuid.uuid4().hex[:8]}")
    response = await client.post(ENDPOINTS, json=body, headers=keyed(headers))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def record_event(
    client: Client, clock: ManualClock, merchant_id: UUID | None, event_type: str = "webhook.test"
) -> UUID:
    """An outbox event written at the clock's time, as the writers write them."""
    async with payguard_of(client.app).db_session() as db:
        subject = uuid.uuid4()
        event = Outbox(db, clock).record(
            merchant_id=merchant_id,
            type=event_type,
            subject_id=subject,
            payload=WebhookTest(endpoint_id=subject, message="hello"),
            at=clock.now(),
        )
        await db.flush()
        event_id = event.id
        await db.commit()
        return event_id


async def add_delivery(
    client: Client, endpoint_id: str | UUID, event_id: UUID, status: DeliveryStatus, at: datetime
) -> UUID:
    async with payguard_of(client.app).db_session() as db:
        event = await db.get_one(OutboxEvent, event_id)
        delivery = WebhookDelivery(
            endpoint_id=UUID(str(endpoint_id)),
            event_id=event_id,
            event_type=event.type,
            status=status,
            next_attempt_at=at if status is DeliveryStatus.PENDING else None,
        )
        db.add(delivery)
        await db.flush()
        delivery_id = delivery.id
        await db.commit()
        return delivery_id


async def delivery_states(client: Client) -> dict[UUID, tuple[DeliveryStatus, datetime | None]]:
    """Every delivery's status and next attempt, by id (read through the ORM: SQLite stores UUIDs its own way)."""
    async with payguard_of(client.app).db_session() as db:
        rows = await db.scalars(select(WebhookDelivery))
        return {row.id: (row.status, row.next_attempt_at) for row in rows}


async def set_disabled_reason(client: Client, endpoint_id: str, reason: str) -> None:
    async with payguard_of(client.app).db_session() as db:
        endpoint = await db.get_one(WebhookEndpoint, UUID(endpoint_id))
        endpoint.disabled_reason = reason
        await db.commit()


async def stored_secrets(store: Store) -> tuple[str, str | None]:
    """The first endpoint's current and previous secrets as stored, opened with the test host's key.

    Each stored value is sealed: the signing secret is never in the table as it is.
    """
    row = (await store.rows("SELECT id, secret, previous_secret FROM payguard_webhook_endpoint"))[0]
    box, raw = SecretBox(TEST_WEBHOOK_SECRET_KEY), row["id"]
    endpoint_id = UUID(bytes=raw) if isinstance(raw, bytes) else UUID(str(raw))  # SQLite keeps the 16 bytes
    opened = []
    for value in (row["secret"], row["previous_secret"]):
        assert value is None or is_sealed(value), "a signing secret stored as it is"
        opened.append(None if value is None else box.unseal(value, context=str(endpoint_id)))
    return str(opened[0]), opened[1]
