"""Outbound webhook delivery with a real worker, to a receiver on 127.0.0.1: signatures, retries, 410, 429, timeouts."""

from __future__ import annotations

import asyncio
import json
from ipaddress import IPv4Address
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from litestar_payguard.clock import SystemClock
from litestar_payguard.models import AttemptErrorKind, DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from litestar_payguard.schemas.webhooks import WebhookTest
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.webhooks import WebhookVerificationError, verify
from tests.integration.conftest import ClientFactory, payguard_of
from tests.integration.webhooks.outbound import (
    ACME,
    ENDPOINTS,
    EVENTS,
    create_endpoint,
    keyed,
    record_event,
    seed_merchants,
)
from tests.integration.webhooks.receiver import Answer, Receiver, receiver
from tests.support import Counts, eventually

CLOCK = SystemClock()
FAST = {"run_worker_in_app": True, "clock": CLOCK, "webhook_sweep_seconds": 1}
LATE = 3.5
"""How late a scheduled retry may run: SAQ moves due jobs to its queue every one to two seconds (its schedule
timer and lock), and a loaded machine adds to it. Early is never allowed."""


async def attempts(client: Any) -> list[WebhookAttempt]:
    async with payguard_of(client.app).db_session() as db:
        return list(await db.scalars(select(WebhookAttempt).order_by(WebhookAttempt.number)))


async def delivery(client: Any) -> WebhookDelivery | None:
    async with payguard_of(client.app).db_session() as db:
        return await db.scalar(select(WebhookDelivery))


async def received(rx: Receiver, count: int = 1, limit: float = 20.0) -> None:
    async def enough() -> bool:
        return len(rx.received) >= count

    await eventually(enough, limit=limit)


async def test_an_event_arrives_signed_with_its_id_and_the_snapshot(client_for: ClientFactory) -> None:
    counts = Counts(
        ("payguard_webhook_attempts_total", {"outcome": "delivered"}),
        ("payguard_webhook_attempt_duration_seconds_count", {"outcome": "delivered"}),
    )
    async with client_for(**FAST) as client:
        merchants = await seed_merchants(client)
        with receiver() as rx:
            endpoint = await create_endpoint(client, url=rx.url)
            event_id = await record_event(client, CLOCK, merchants["acme"], "payment.succeeded")
            await received(rx)

            request = rx.received[0]
            event = verify(request.body, request.headers, endpoint["secret"])
            assert event.id == request.headers["webhook-id"] == str(event_id)
            assert event.type == "payment.succeeded"
            assert event.data == json.loads(request.body)["data"]
            assert request.headers["content-type"] == "application/json"
            assert request.headers["user-agent"].startswith("litestar-payguard")
            assert len(request.headers["webhook-signature"].split()) == 1
            done = await eventually(lambda: _status(client, DeliveryStatus.DELIVERED))
            assert done.attempts == 1
            [attempt] = await attempts(client)
            assert (attempt.response_status, attempt.error_kind, attempt.trigger.value) == (204, None, "scheduled")
            assert endpoint["secret"] not in json.dumps(attempt.response_headers) + (attempt.response_body or "")
            assert counts.deltas() == [1, 1]  # the attempt's metrics: its outcome and its duration


async def _status(client: Any, status: DeliveryStatus) -> WebhookDelivery | None:
    found = await delivery(client)
    return found if found is not None and found.status is status else None


async def test_a_receiver_failing_twice_gets_it_on_the_third_attempt_on_the_test_schedule(
    client_for: ClientFactory,
) -> None:
    async with client_for(**FAST) as client:
        merchants = await seed_merchants(client)
        with receiver(Answer(500), Answer(502), Answer(200)) as rx:
            await create_endpoint(client, url=rx.url)
            await record_event(client, CLOCK, merchants["acme"], "refund.processed")
            await received(rx, 3, limit=40)

            done = await eventually(lambda: _status(client, DeliveryStatus.DELIVERED))
            assert done.attempts == 3
            assert [a.response_status for a in await attempts(client)] == [500, 502, 200]
            assert [a.error_kind for a in await attempts(client)] == [
                AttemptErrorKind.HTTP_STATUS,
                AttemptErrorKind.HTTP_STATUS,
                None,
            ]
            gaps = [later.at - earlier.at for earlier, later in zip(rx.received, rx.received[1:], strict=False)]
            assert 4 * 0.99 <= gaps[0] <= 6 + LATE  # 5 s ± 20 %
            assert 8 * 0.99 <= gaps[1] <= 12 + LATE  # 10 s ± 20 %
            assert len(set(rx.by_id())) == 1  # the same webhook-id on every attempt
            assert len({r.headers["webhook-timestamp"] for r in rx.received}) == 3  # a new timestamp on each


async def test_410_disables_the_endpoint_and_nothing_more_is_sent(client_for: ClientFactory) -> None:
    async with client_for(**FAST) as client:
        merchants = await seed_merchants(client)
        with receiver(Answer(410)) as rx:
            endpoint = await create_endpoint(client, url=rx.url)
            await record_event(client, CLOCK, merchants["acme"], "payment.succeeded")
            await received(rx)
            await eventually(lambda: _status(client, DeliveryStatus.FAILED))

            async with payguard_of(client.app).db_session() as db:
                stored = await db.get_one(WebhookEndpoint, UUID(endpoint["id"]))
            assert not stored.enabled
            assert stored.disabled_reason == "The endpoint answered 410 Gone."
            await record_event(client, CLOCK, merchants["acme"], "payment.failed")
            events = await client.get(EVENTS, headers=ACME)
            assert "webhook_endpoint.disabled" in {item["type"] for item in events.json()["items"]}
            await asyncio.sleep(2.5)  # two sweeps
            assert len(rx.received) == 1


async def test_429_with_retry_after_is_honoured(client_for: ClientFactory) -> None:
    async with client_for(**FAST) as client:
        merchants = await seed_merchants(client)
        with receiver(Answer(429, {"Retry-After": "8"}), Answer(200)) as rx:
            await create_endpoint(client, url=rx.url)
            await record_event(client, CLOCK, merchants["acme"], "payment.succeeded")
            await received(rx, 2, limit=30)

            gap = rx.received[1].at - rx.received[0].at
            assert 8 * 0.99 <= gap <= 8 + LATE  # asked 8 s: more than the 5 s ± 20 % scheduled
            await eventually(lambda: _status(client, DeliveryStatus.DELIVERED))


async def test_a_receiver_that_does_not_answer_in_time_is_a_timeout(client_for: ClientFactory) -> None:
    async with client_for(**FAST, webhook_timeout_seconds=1) as client:
        merchants = await seed_merchants(client)
        with receiver(Answer(200, delay=3)) as rx:
            await create_endpoint(client, url=rx.url)
            await record_event(client, CLOCK, merchants["acme"], "payment.succeeded")
            await received(rx)

            async def logged() -> list[WebhookAttempt]:
                return await attempts(client)

            [attempt] = await eventually(logged)
            assert attempt.error_kind is AttemptErrorKind.TIMEOUT
            assert attempt.response_status is None
            found = await delivery(client)
            assert found is not None
            assert found.status is DeliveryStatus.PENDING
            assert found.next_attempt_at is not None


async def test_a_rotation_signs_with_both_secrets_during_the_grace_and_with_one_after(
    client_for: ClientFactory,
) -> None:
    async with client_for(**FAST) as client:
        merchants = await seed_merchants(client)
        with receiver() as rx:
            endpoint = await create_endpoint(client, url=rx.url)
            rotate = f"{ENDPOINTS}/{endpoint['id']}/rotate-secret"
            rotated = (await client.post(rotate, json={"graceSeconds": 60}, headers=keyed())).json()
            await record_event(client, CLOCK, merchants["acme"], "payment.succeeded")
            await received(rx)
            during = rx.received[0]
            assert len(during.headers["webhook-signature"].split()) == 2
            verify(during.body, during.headers, endpoint["secret"])  # the old secret still verifies
            verify(during.body, during.headers, rotated["secret"])  # and the new one

            newest = (await client.post(rotate, json={"graceSeconds": 0}, headers=keyed())).json()
            await record_event(client, CLOCK, merchants["acme"], "payment.failed")
            await received(rx, 2)
            after = rx.received[1]
            assert len(after.headers["webhook-signature"].split()) == 1
            verify(after.body, after.headers, newest["secret"])
            with pytest.raises(WebhookVerificationError):
                verify(after.body, after.headers, rotated["secret"])


async def test_a_body_over_the_limit_is_sent_thin_with_where_to_fetch_the_event(client_for: ClientFactory) -> None:
    async with client_for(**FAST, webhook_max_body_bytes=1024) as client:
        merchants = await seed_merchants(client)
        with receiver() as rx:
            endpoint = await create_endpoint(client, url=rx.url)
            async with payguard_of(client.app).db_session() as db:
                event = Outbox(db, CLOCK).record(
                    merchant_id=merchants["acme"],
                    type="payment.succeeded",
                    subject_id=UUID(endpoint["id"]),
                    payload=WebhookTest(endpoint_id=UUID(endpoint["id"]), message="x" * 5000),
                    at=CLOCK.now(),
                )
                await db.flush()
                event_id = event.id
                await db.commit()
            await received(rx)

            body = rx.received[0].body
            assert len(body) <= 1024
            sent = verify(body, rx.received[0].headers, endpoint["secret"])
            assert sent.data == {"id": endpoint["id"], "thin": True, "url": f"/payguard/v1/events/{event_id}"}
            full = await client.get(f"{EVENTS}/{event_id}", headers=ACME)
            assert full.json()["data"]["message"] == "x" * 5000


async def test_a_target_that_turned_private_fails_its_attempt_as_blocked(client_for: ClientFactory) -> None:
    names = {"hooks.example": "127.0.0.1"}

    async def resolver(host: str, port: int) -> list[IPv4Address]:
        return [IPv4Address(names.get(host, "127.0.0.1"))]

    async with client_for(**FAST, webhook_resolver=resolver) as client:
        merchants = await seed_merchants(client)
        endpoint = await create_endpoint(client, url="http://hooks.example:9/hooks")  # allowed: the loopback list
        names["hooks.example"] = "10.0.0.7"  # its DNS now points into a private network
        await record_event(client, CLOCK, merchants["acme"], "payment.succeeded")

        async def logged() -> list[WebhookAttempt]:
            return await attempts(client)

        [attempt] = await eventually(logged)
        assert attempt.error_kind is AttemptErrorKind.BLOCKED_TARGET
        assert "10.0.0.7" in (attempt.error_detail or "")
        assert attempt.response_status is None
        assert endpoint["secret"] not in (attempt.error_detail or "")
