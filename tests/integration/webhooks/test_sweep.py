"""The sweep: one job per endpoint with new deliveries, and a delivery whose job died with its worker handed out again.

No worker runs here: the tests call the sweep job and take jobs off the queue themselves. A job taken off the
queue and never finished is what a worker killed with SIGKILL leaves in SAQ: an active job that keeps its key.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select

from litestar_payguard.jobs.webhooks import deliver_webhook, sweep_webhooks
from litestar_payguard.models import AttemptErrorKind, DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from litestar_payguard.services.webhooks.outbound import SecretBox
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ON_BOTH_DATABASES, ClientFactory, payguard_of
from tests.integration.webhooks.outbound import create_endpoint, record_event, seed_merchants
from tests.integration.webhooks.receiver import receiver


async def _sweep(client: Any) -> dict[str, int]:
    return await sweep_webhooks({"payguard": payguard_of(client.app)})


async def _job_keys(client: Any) -> set[str]:
    """The keys of the queue's jobs not finished yet (queued, scheduled or held by a worker)."""
    queue = payguard_of(client.app).queue
    ids = await queue.redis.zrange(queue.namespace("incomplete"), 0, -1)
    return {queue.job_key_from_id(job_id.decode()) for job_id in ids}


async def _deliveries(client: Any) -> list[WebhookDelivery]:
    async with payguard_of(client.app).db_session() as db:
        return list(await db.scalars(select(WebhookDelivery)))


@ON_BOTH_DATABASES
async def test_a_sweep_gives_each_endpoint_it_creates_deliveries_for_one_job(client_for: ClientFactory) -> None:
    clock = ManualClock()
    async with client_for(clock=clock) as client:
        merchants = await seed_merchants(client)
        await create_endpoint(client)
        await create_endpoint(client)
        clock.advance(1)
        for _ in range(3):
            await record_event(client, clock, merchants["acme"], "payment.succeeded")

        assert await _sweep(client) == {"events": 3, "created": 6, "handedOut": 0}
        assert len(await _job_keys(client)) == 2  # each endpoint's first delivery's job delivers its others with it
        assert await _sweep(client) == {"events": 0, "created": 0, "handedOut": 2}  # due, and nobody took them
        assert len(await _job_keys(client)) == 4  # the sweep's own key: once per endpoint however often it runs
        assert (await _sweep(client))["handedOut"] == 2
        assert len(await _job_keys(client)) == 4


@ON_BOTH_DATABASES
async def test_an_endpoint_whose_every_attempt_is_held_gets_no_job_from_the_sweep(client_for: ClientFactory) -> None:
    """Its run takes what the sweep fans out to it (or hands it on); a job would find no attempt free."""
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=2) as client:
        merchants = await seed_merchants(client)
        busy, free = (await create_endpoint(client))["id"], (await create_endpoint(client))["id"]
        clock.advance(1)
        for _ in range(2):
            await record_event(client, clock, merchants["acme"], "payment.succeeded")
        await _sweep(client)
        async with payguard_of(client.app).db_session() as db:  # a run holds both of the busy one's attempts
            for delivery in await db.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == UUID(busy))):
                delivery.lease_until = clock.now() + timedelta(seconds=30)
            await db.commit()
        before = await _job_keys(client)

        await record_event(client, clock, merchants["acme"], "payment.succeeded")
        assert await _sweep(client) == {"events": 1, "created": 2, "handedOut": 0}

        (key,) = await _job_keys(client) - before  # one job, the free endpoint's new delivery's
        async with payguard_of(client.app).db_session() as db:
            (fresh,) = await db.scalars(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.endpoint_id == UUID(free), WebhookDelivery.attempts == 0)
                .order_by(WebhookDelivery.created_at.desc())
                .limit(1)
            )
        assert str(fresh) in key
        clock.advance(31)  # the busy one's attempts end: its due deliveries are handed out
        assert (await _sweep(client))["handedOut"] == 2


@ON_BOTH_DATABASES
async def test_a_job_a_killed_worker_took_keeps_its_delivery_from_the_sweep_one_lease_window_at_most(
    client_for: ClientFactory,
) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_timeout_seconds=5) as client:
        payguard = payguard_of(client.app)
        lease = payguard.config.webhook_lease_seconds
        merchants = await seed_merchants(client)
        with receiver() as rx:
            await create_endpoint(client, url=rx.url)
            clock.advance(lease - clock.now().timestamp() % lease + 0.1)  # the start of a window
            await record_event(client, clock, merchants["acme"], "payment.succeeded")
            await _sweep(client)
            # Workers take both jobs of the delivery (the fan-out's and the sweep's) and die before the lease.
            await _sweep(client)
            taken = [await payguard.queue.dequeue(timeout=1) for _ in range(2)]
            assert all(job is not None and job.function == "deliver_webhook" for job in taken)
            assert await payguard.queue.count("queued") == 0

            clock.advance(lease / 2)  # the same window: the sweep's key is still the dead job's
            assert (await _sweep(client))["handedOut"] == 1
            assert await payguard.queue.count("queued") == 0

            clock.advance(lease)  # the next window: a key of its own
            assert (await _sweep(client))["handedOut"] == 1
            job = await payguard.queue.dequeue(timeout=1)
            assert job is not None
            assert job.kwargs is not None
            assert await deliver_webhook({"payguard": payguard}, **job.kwargs) == "delivered"
            assert len(rx.received) == 1
        assert [(d.status, d.attempts) for d in await _deliveries(client)] == [(DeliveryStatus.DELIVERED, 1)]
        timeout = max(job.timeout for job in [*taken, job] if job is not None)
        assert timeout == lease  # SAQ finds a dead worker's job stuck once the lease is over


@ON_BOTH_DATABASES
async def test_a_secret_the_key_cannot_open_fails_the_attempt_sending_nothing(client_for: ClientFactory) -> None:
    clock = ManualClock()
    async with client_for(clock=clock) as client:
        payguard = payguard_of(client.app)
        merchants = await seed_merchants(client)
        with receiver() as rx:
            endpoint = await create_endpoint(client, url=rx.url)
            async with payguard.db_session() as db:  # sealed under another deployment's key
                row = await db.get_one(WebhookEndpoint, UUID(endpoint["id"]))
                other = SecretBox(base64.b64encode(b"k" * 32).decode())
                row.secret = other.seal(endpoint["secret"], context=endpoint["id"])
                await db.commit()
            clock.advance(1)
            await record_event(client, clock, merchants["acme"], "payment.succeeded")
            await _sweep(client)
            (delivery,) = await _deliveries(client)

            step = await payguard.webhook_deliverer().deliver(delivery.id)

            assert rx.received == []
        assert step.status is DeliveryStatus.PENDING  # on the schedule: recoverable once the key is right
        assert step.next_at is not None
        assert 4 <= (step.next_at - clock.now()).total_seconds() <= 6
        async with payguard.db_session() as db:
            (attempt,) = await db.scalars(select(WebhookAttempt))
            assert (attempt.error_kind, attempt.response_status) == (AttemptErrorKind.SIGNING_SECRET, None)
            assert "whsec_" not in (attempt.error_detail or "")
