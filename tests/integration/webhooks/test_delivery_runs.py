"""A delivery job's run: the endpoint's due deliveries taken together, sent at once, recorded together.

Each test builds a backlog on one endpoint (events fanned out by the sweep; no worker runs) and calls the job's
entry, ``WebhookDeliverer.deliver_due``, once. The receiver answers after a pause, so the attempts of one batch
overlap and the next batch arrives at least a pause later: no window shorter than the pause holds more arrivals
than the endpoint has attempts free.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from ipaddress import IPv4Address
from typing import Any
from uuid import UUID

from sqlalchemy import select

from litestar_payguard.jobs.webhooks import sweep_webhooks
from litestar_payguard.models import (
    AttemptErrorKind,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from litestar_payguard.services.webhooks.outbound.deliver import Run
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ON_BOTH_DATABASES, ClientFactory, payguard_of
from tests.integration.webhooks.outbound import ENDPOINTS, create_endpoint, keyed, record_event, seed_merchants
from tests.integration.webhooks.receiver import Answer, receiver

BACKLOG = 12
PAUSE = 0.25
"""Seconds the receiver waits before it answers."""


async def _backlog(client: Any, clock: ManualClock, url: str, count: int = BACKLOG) -> list[UUID]:
    """``count`` due deliveries of one new endpoint, oldest first."""
    merchants = await seed_merchants(client)
    await create_endpoint(client, url=url)
    clock.advance(1)
    for _ in range(count):
        await record_event(client, clock, merchants["acme"], "payment.succeeded")
    assert (await sweep_webhooks({"payguard": payguard_of(client.app)}))["created"] == count
    return [delivery.id for delivery in await _deliveries(client)]


async def _deliveries(client: Any) -> list[WebhookDelivery]:
    async with payguard_of(client.app).db_session() as db:
        return list(await db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


async def _run(client: Any, delivery_id: UUID) -> Run:
    return await payguard_of(client.app).webhook_deliverer().deliver_due(delivery_id)


@ON_BOTH_DATABASES
async def test_one_run_delivers_the_endpoints_backlog_a_free_attempt_each(client_for: ClientFactory) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=5) as client:
        with receiver(Answer(204, delay=PAUSE)) as rx:
            ids = await _backlog(client, clock, rx.url)

            run = await _run(client, ids[0])

            assert (run.status, run.attempts, run.later) == (DeliveryStatus.DELIVERED, BACKLOG, [])
            assert len(rx.by_id()) == BACKLOG
            assert set(rx.by_id().values()) == {1}
            assert rx.most_at_once(PAUSE) == 5  # five at once, never more
        assert {(d.status, d.attempts, d.lease_until) for d in await _deliveries(client)} == {
            (DeliveryStatus.DELIVERED, 1, None)
        }
        async with payguard_of(client.app).db_session() as db:
            attempts = list(await db.scalars(select(WebhookAttempt)))
        assert sorted(attempt.delivery_id for attempt in attempts) == sorted(ids)  # each one logged
        assert {(attempt.number, attempt.response_status) for attempt in attempts} == {(1, 204)}


@ON_BOTH_DATABASES
async def test_a_run_takes_only_the_attempts_other_runs_leave_free(client_for: ClientFactory) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=5) as client:
        with receiver(Answer(204, delay=PAUSE)) as rx:
            ids = await _backlog(client, clock, rx.url)
            held = ids[-2:]
            async with payguard_of(client.app).db_session() as db:  # two attempts of another run are in flight
                for delivery_id in held:
                    (await db.get_one(WebhookDelivery, delivery_id)).lease_until = clock.now() + timedelta(seconds=30)
                await db.commit()

            run = await _run(client, ids[0])

            assert run.attempts == BACKLOG - 2
            assert rx.most_at_once(PAUSE) == 3
        states = {d.id: (d.status, d.attempts) for d in await _deliveries(client)}
        assert {states[delivery_id] for delivery_id in held} == {(DeliveryStatus.PENDING, 0)}  # left to their run
        assert {states[delivery_id] for delivery_id in ids[:-2]} == {(DeliveryStatus.DELIVERED, 1)}


@ON_BOTH_DATABASES
async def test_a_410_stops_the_run_before_anything_more_is_sent(client_for: ClientFactory) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=5) as client:
        with receiver(Answer(410)) as rx:
            ids = await _backlog(client, clock, rx.url)

            run = await _run(client, ids[0])

            assert len(rx.received) == 5  # the first batch only
        assert (run.attempts, run.later) == (5, [])
        statuses = [d.status for d in await _deliveries(client)]
        assert (statuses.count(DeliveryStatus.FAILED), statuses.count(DeliveryStatus.CANCELLED)) == (5, BACKLOG - 5)
        async with payguard_of(client.app).db_session() as db:
            (endpoint,) = await db.scalars(select(WebhookEndpoint))
        assert endpoint.enabled is False


@ON_BOTH_DATABASES
async def test_failed_attempts_of_a_run_each_get_their_own_retry(client_for: ClientFactory) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=5) as client:
        with receiver(Answer(500)) as rx:
            ids = await _backlog(client, clock, rx.url)

            run = await _run(client, ids[0])

            assert len(rx.by_id()) == BACKLOG  # a failing receiver does not stop the backlog
        assert run.status is DeliveryStatus.PENDING
        assert sorted(delivery_id for delivery_id, _ in run.later) == sorted(ids)  # a job each for its retry
        for delivery in await _deliveries(client):
            assert (delivery.status, delivery.attempts, delivery.lease_until) == (DeliveryStatus.PENDING, 1, None)
            assert delivery.next_attempt_at is not None
            assert 4 <= (delivery.next_attempt_at - clock.now()).total_seconds() <= 6  # the test-mode schedule
            assert (delivery.id, delivery.next_attempt_at) in run.later


@ON_BOTH_DATABASES
async def test_a_run_on_a_busy_endpoint_leaves_its_delivery_due_for_the_attempts_in_flight(
    client_for: ClientFactory,
) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=2) as client:
        with receiver() as rx:
            ids = await _backlog(client, clock, rx.url, count=3)
            async with payguard_of(client.app).db_session() as db:
                for delivery_id in ids[:2]:
                    (await db.get_one(WebhookDelivery, delivery_id)).lease_until = clock.now() + timedelta(seconds=30)
                await db.commit()

            run = await _run(client, ids[2])

            assert rx.received == []
        assert (run.status, run.attempts) == (DeliveryStatus.PENDING, 0)
        assert run.later == []  # no job comes back for it: the run holding the endpoint, or the sweep, takes it
        (waiting,) = [d for d in await _deliveries(client) if d.id == ids[2]]
        assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == (DeliveryStatus.PENDING, 0, clock.now())
        sweep = {"payguard": payguard_of(client.app)}
        assert (await sweep_webhooks(sweep))["handedOut"] == 0  # its job would find no attempt free
        clock.advance(31)  # the attempts in flight end (here: their leases run out)
        assert (await sweep_webhooks(sweep))["handedOut"] == 1  # not lost


@ON_BOTH_DATABASES
async def test_a_run_of_an_endpoint_disabled_by_its_merchant_cancels_its_whole_backlog(
    client_for: ClientFactory,
) -> None:
    clock = ManualClock()
    async with client_for(clock=clock) as client:
        with receiver() as rx:
            ids = await _backlog(client, clock, rx.url)
            async with payguard_of(client.app).db_session() as db:
                (row,) = await db.scalars(select(WebhookEndpoint))
                endpoint_id = row.id
            disabled = await client.patch(f"{ENDPOINTS}/{endpoint_id}", json={"enabled": False}, headers=keyed())
            assert disabled.status_code == 200, disabled.text

            run = await _run(client, ids[0])

            assert rx.received == []
        assert (run.status, run.attempts, run.later) == (DeliveryStatus.CANCELLED, 0, [])
        assert {d.status for d in await _deliveries(client)} == {DeliveryStatus.CANCELLED}  # none left for the sweep


@ON_BOTH_DATABASES
async def test_a_run_whose_worker_is_stopping_takes_no_more_and_leaves_the_rest_a_job(
    client_for: ClientFactory,
) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=5) as client:
        with receiver() as rx:
            ids = await _backlog(client, clock, rx.url)

            run = await payguard_of(client.app).webhook_deliverer().deliver_due(ids[0], stopping=lambda: True)

            assert len(rx.received) == 5  # the batch it had taken
        states = {d.id: d.status for d in await _deliveries(client)}
        assert list(states.values()).count(DeliveryStatus.DELIVERED) == 5
        ((next_id, at),) = run.later  # the endpoint's next due one, for a job of its own
        assert (states[next_id], at) == (DeliveryStatus.PENDING, clock.now())


async def test_an_attempts_timeout_bounds_its_targets_resolution_too(client_for: ClientFactory) -> None:
    clock = ManualClock()

    async def slow_resolver(host: str, port: int) -> list[IPv4Address]:
        await asyncio.sleep(0.6)
        return [IPv4Address("127.0.0.1")]

    async with client_for(clock=clock, webhook_timeout_seconds=1, webhook_resolver=slow_resolver) as client:
        with receiver(Answer(204, delay=0.7)) as rx:  # in time by itself, not after the resolution
            port = rx.url.split(":")[2].split("/")[0]
            (delivery_id,) = await _backlog(client, clock, f"http://hooks.example:{port}/hooks", count=1)

            run = await _run(client, delivery_id)

        assert run.status is DeliveryStatus.PENDING  # failed, on the schedule
        async with payguard_of(client.app).db_session() as db:
            (attempt,) = await db.scalars(select(WebhookAttempt))
        assert attempt.error_kind is AttemptErrorKind.TIMEOUT
