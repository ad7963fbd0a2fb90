"""Outbox events become webhook deliveries: one per enabled endpoint of the merchant whose filter matches."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select

from litestar_payguard.models import DeliveryStatus, OutboxEvent, WebhookDelivery
from litestar_payguard.schemas.webhooks import WebhookTest
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.services.webhooks.outbound.fanout import fan_out
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ON_BOTH_DATABASES, Client, Store, payguard_of
from tests.integration.webhooks.outbound import GLOBEX, create_endpoint, record_event, seed_merchants


async def run_fan_out(client: Client, clock: ManualClock) -> int:
    async with payguard_of(client.app).db_session() as db:
        done = await fan_out(db, clock.now())
        await db.commit()
        return len(done.deliveries)


async def deliveries(client: Client) -> set[tuple[str, str]]:
    """(endpoint id, event type) of every delivery."""
    async with payguard_of(client.app).db_session() as db:
        rows = await db.execute(select(WebhookDelivery.endpoint_id, WebhookDelivery.event_type))
        return {(str(endpoint), kind) for endpoint, kind in rows}


@ON_BOTH_DATABASES
async def test_each_event_reaches_the_endpoints_whose_filter_matches(
    client: Client, store: Store, clock: ManualClock
) -> None:
    merchants = await seed_merchants(client)
    every = await create_endpoint(client)
    refunds = await create_endpoint(client, eventTypes=["refund.*"])
    exact = await create_endpoint(client, eventTypes=["payment.succeeded"])
    off = await create_endpoint(client, enabled=False)
    other = await create_endpoint(client, GLOBEX)
    clock.advance(1)
    for kind in ("payment.succeeded", "refund.processed", "session.created"):
        await record_event(client, clock, merchants["acme"], kind)

    assert await run_fan_out(client, clock) == 5
    assert await deliveries(client) == {
        (every["id"], "payment.succeeded"),
        (every["id"], "refund.processed"),
        (every["id"], "session.created"),
        (refunds["id"], "refund.processed"),
        (exact["id"], "payment.succeeded"),
    }
    assert not {off["id"], other["id"]} & {endpoint for endpoint, _ in await deliveries(client)}
    assert await run_fan_out(client, clock) == 0  # each event once


@ON_BOTH_DATABASES
async def test_events_older_than_the_endpoint_and_the_operators_are_not_sent(
    client: Client, store: Store, clock: ManualClock
) -> None:
    merchants = await seed_merchants(client)
    await record_event(client, clock, merchants["acme"], "payment.succeeded")
    operator = await record_event(client, clock, None, "payguard.cleanup.large")
    clock.advance(1)
    endpoint = await create_endpoint(client)

    assert await run_fan_out(client, clock) == 0
    clock.advance(1)
    await record_event(client, clock, merchants["acme"], "payment.failed")
    assert await run_fan_out(client, clock) == 1
    assert await deliveries(client) == {(endpoint["id"], "payment.failed")}
    async with payguard_of(client.app).db_session() as db:
        marked = await db.scalar(select(OutboxEvent.fanned_out_at).where(OutboxEvent.id == operator))
    assert marked == clock.now() - timedelta(seconds=1)


async def test_a_test_event_goes_to_its_endpoint_only(client: Client, store: Store, clock: ManualClock) -> None:
    merchants = await seed_merchants(client)
    target = await create_endpoint(client, eventTypes=["refund.*"])
    await create_endpoint(client)
    clock.advance(1)
    async with payguard_of(client.app).db_session() as db:
        Outbox(db, clock).record(
            merchant_id=merchants["acme"],
            type="webhook.test",
            subject_id=UUID(target["id"]),
            payload=WebhookTest(endpoint_id=UUID(target["id"]), message="hello"),
            at=clock.now(),
        )
        await db.commit()

    assert await run_fan_out(client, clock) == 1
    assert await deliveries(client) == {(target["id"], "webhook.test")}


@ON_BOTH_DATABASES
async def test_concurrent_fan_outs_create_each_delivery_once(client: Client, store: Store, clock: ManualClock) -> None:
    merchants = await seed_merchants(client)
    endpoints = [await create_endpoint(client) for _ in range(3)]
    clock.advance(1)
    for _ in range(30):
        await record_event(client, clock, merchants["acme"], "payment.succeeded")

    created = await asyncio.gather(*(run_fan_out(client, clock) for _ in range(4)))

    assert sum(created) == 90
    async with payguard_of(client.app).db_session() as db:
        rows = list(await db.scalars(select(WebhookDelivery)))
    assert len(rows) == 90
    assert {row.status for row in rows} == {DeliveryStatus.PENDING}
    assert {str(row.endpoint_id) for row in rows} == {endpoint["id"] for endpoint in endpoints}
