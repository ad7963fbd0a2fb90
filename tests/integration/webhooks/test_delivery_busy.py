"""An endpoint with the most attempts in flight: the next delivery waits a second instead of being attempted."""

from __future__ import annotations

from datetime import timedelta

from litestar_payguard.models import DeliveryStatus, WebhookDelivery
from litestar_payguard.services.webhooks.outbound.deliver import BUSY_RETRY
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ClientFactory, payguard_of
from tests.integration.webhooks.outbound import add_delivery, create_endpoint, record_event, seed_merchants


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
