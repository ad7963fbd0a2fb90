"""What an attempt does to its endpoint: a busy one puts the next delivery off; a success ends its failing spell."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from litestar_payguard.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from litestar_payguard.services.webhooks.outbound.taking import BUSY_RETRY
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ClientFactory, payguard_of
from tests.integration.webhooks.outbound import add_delivery, create_endpoint, record_event, seed_merchants
from tests.integration.webhooks.receiver import receiver


async def test_a_busy_endpoint_puts_the_delivery_off_by_a_second(client_for: ClientFactory) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=1) as client:
        merchants = await seed_merchants(client)
        endpoint = await create_endpoint(client)
        held_event = await record_event(client, clock, merchants["acme"], "payment.succeeded")
        next_event = await record_event(client, clock, merchants["acme"], "payment.failed")
        held = await add_delivery(client, endpoint["id"], held_event, DeliveryStatus.PENDING, clock.now())
        waiting = await add_delivery(client, endpoint["id"], next_event, DeliveryStatus.PENDING, clock.now())
        payguard = payguard_of(client.app)
        async with payguard.db_session() as db:  # an attempt of the first delivery is in flight
            row = await db.get_one(WebhookDelivery, held)
            row.lease_until = clock.now() + timedelta(seconds=30)
            await db.commit()

        step = await payguard.webhook_deliverer().deliver(waiting)

        assert (step.status, step.next_at) == (DeliveryStatus.PENDING, clock.now() + BUSY_RETRY)
        async with payguard.db_session() as db:
            stored = await db.get_one(WebhookDelivery, waiting)
            assert (stored.attempts, stored.next_attempt_at, stored.lease_until) == (0, clock.now() + BUSY_RETRY, None)


async def test_a_delivered_attempt_clears_the_endpoints_failing_since(client_for: ClientFactory) -> None:
    clock = ManualClock()
    async with client_for(clock=clock) as client:
        merchants = await seed_merchants(client)
        with receiver() as rx:
            endpoints = [await create_endpoint(client, url=rx.url) for _ in range(2)]
            event = await record_event(client, clock, merchants["acme"], "payment.succeeded")
            payguard = payguard_of(client.app)
            failing = clock.now() - timedelta(hours=1)
            async with payguard.db_session() as db:
                for endpoint in endpoints:
                    (await db.get_one(WebhookEndpoint, UUID(endpoint["id"]))).failing_since = failing
                await db.commit()
            delivery = await add_delivery(client, endpoints[0]["id"], event, DeliveryStatus.PENDING, clock.now())

            step = await payguard.webhook_deliverer().deliver(delivery)

            assert step.status is DeliveryStatus.DELIVERED
            assert len(rx.received) == 1
        async with payguard.db_session() as db:
            first, second = [await db.get_one(WebhookEndpoint, UUID(endpoint["id"])) for endpoint in endpoints]
            assert (first.failing_since, second.failing_since) == (None, failing)  # the other endpoint is untouched
