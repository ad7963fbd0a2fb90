"""A run's batch step on Postgres: the delivered batch recorded and the next one taken in two statements.

The statements must leave exactly what the ORM path leaves (:func:`record_attempts` then ``take_more``), so the
first test runs both on the same events, one endpoint each, at the same clock time, and compares every column.
The others hold the rules the statements share with the ORM path under real concurrency and a change of the
endpoint in the middle of a run.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from litestar_payguard.jobs.webhooks import sweep_webhooks
from litestar_payguard.models import (
    AttemptTrigger,
    DeliveryStatus,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from litestar_payguard.services.webhooks.outbound import SecretBox, make_client
from litestar_payguard.services.webhooks.outbound.outcome import Attempt, Step, record_attempts
from litestar_payguard.services.webhooks.outbound.sending import AttemptSender
from litestar_payguard.services.webhooks.outbound.taking import AttemptTaker, Taken
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ON_BOTH_DATABASES, Client, ClientFactory, payguard_of
from tests.integration.webhooks.outbound import ENDPOINTS, create_endpoint, keyed, record_event, seed_merchants
from tests.integration.webhooks.receiver import Answer, Receiver, receiver

EVENTS = 6
FREE = 3


async def _two_endpoints_with_one_backlog(client: Client, clock: ManualClock, url: str) -> list[UUID]:
    """Two endpoints of one merchant with the same ``EVENTS`` due in the same order, both failing since a minute ago.

    Each delivery is due when its event happened, a second apart, so both endpoints take the same events in the
    same order; the 4th was retried by hand on both. Returns the endpoints' ids.
    """
    merchants = await seed_merchants(client)
    endpoints = [UUID((await create_endpoint(client, url=url))["id"]) for _ in range(2)]
    for _ in range(EVENTS):
        clock.advance(1)
        await record_event(client, clock, merchants["acme"], "payment.succeeded")
    assert (await sweep_webhooks({"payguard": payguard_of(client.app)}))["created"] == 2 * EVENTS
    async with payguard_of(client.app).db_session() as db:
        for endpoint_id in endpoints:
            (await db.get_one(WebhookEndpoint, endpoint_id)).failing_since = clock.now() - timedelta(minutes=1)
            for delivery in await _rows(db, endpoint_id):
                delivery.next_attempt_at = (await db.get_one(OutboxEvent, delivery.event_id)).occurred_at
        for endpoint_id in endpoints:
            (await _rows(db, endpoint_id))[3].manual_retry = True
        await db.commit()
    return endpoints


async def _rows(db: Any, endpoint_id: UUID) -> list[WebhookDelivery]:
    """The endpoint's deliveries, in the order they were due (their events' order)."""
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    rows = list(await db.scalars(statement))
    occurred = {e.id: e.occurred_at for e in await db.scalars(select(OutboxEvent))}
    return sorted(rows, key=lambda row: occurred[row.event_id])


async def _take_and_send(client: Client, taker: AttemptTaker, endpoint_id: UUID) -> list[tuple[Attempt, Any]]:
    """The endpoint's first ``FREE`` due deliveries taken as a run takes them, and sent to the receiver."""
    payguard = payguard_of(client.app)
    async with payguard.db_session() as db:
        first = (await _rows(db, endpoint_id))[0]
        taken = await taker.take(db, first.id, manual=False, more=True)
        await db.commit()
    assert isinstance(taken, Taken)
    assert len(taken.attempts) == FREE
    http = make_client(timeout=5)
    try:
        results = await AttemptSender(payguard.config, http).send_all(taken.attempts)
    finally:
        await http.aclose()
    return list(zip(taken.attempts, results, strict=True))


def _sent(attempt: Attempt) -> tuple[Any, ...]:
    """What an attempt sends, but its delivery (each endpoint has its own) and its secrets (each its own too)."""
    return (
        attempt.event_id,
        attempt.number,
        attempt.trigger,
        attempt.lease_until,
        attempt.url,
        attempt.test_mode,
        attempt.body,
        len(attempt.secrets),
        attempt.unreadable,
        attempt.trace_context,
    )


async def _stored(client: Client, endpoint_id: UUID) -> tuple[Any, Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """The endpoint's failing time, deliveries and attempts, each as its columns but ids and durations."""
    async with payguard_of(client.app).db_session() as db:
        failing_since = (await db.get_one(WebhookEndpoint, endpoint_id)).failing_since
        rows = await _rows(db, endpoint_id)
        deliveries = Counter(
            (d.event_id, d.status, d.attempts, d.next_attempt_at, d.last_attempt_at, d.lease_until, d.manual_retry)
            for d in rows
        )
        events = {d.id: d.event_id for d in rows}
        logged = await db.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(events)))
        attempts = Counter(
            (
                events[a.delivery_id],
                a.number,
                a.trigger,
                a.response_status,
                tuple(sorted((k, v) for k, v in a.response_headers.items() if k != "date")),  # its second
                a.response_body,
                a.error_kind,
                a.error_detail,
            )
            for a in logged
        )
    return failing_since, deliveries, attempts


async def _taken_over(client: Client, clock: ManualClock, sent: list[tuple[Attempt, Any]], count: int) -> None:
    """The first ``count`` deliveries of the batch were taken over by another attempt (their leases ran out)."""
    async with payguard_of(client.app).db_session() as db:
        for attempt, _ in sent[:count]:
            row = await db.get_one(WebhookDelivery, attempt.delivery_id)
            row.attempts, row.lease_until = row.attempts + 1, clock.now() + timedelta(seconds=60)
        await db.commit()


@pytest.mark.parametrize("taken_over", [0, 1, FREE])
async def test_the_statements_store_and_take_what_the_orm_path_does(client_for: ClientFactory, taken_over: int) -> None:
    """``taken_over``: how many deliveries of the batch another attempt took over (neither path records those,
    and both count them in flight)."""
    clock = ManualClock()
    answer = Answer(200, headers={"x-request-id": "r-1", "set-cookie": "session=secret"}, body=b'{"ok": true}')
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=FREE) as client:
        with receiver(answer) as rx:
            by_statements, by_orm = await _two_endpoints_with_one_backlog(client, clock, rx.url)
            payguard = payguard_of(client.app)
            statements = payguard.delivery_statements
            assert statements is not None  # Postgres through asyncpg
            taker = AttemptTaker(payguard.config, SecretBox(payguard.config.webhook_secret_key))

            sent = await _take_and_send(client, taker, by_statements)
            await _taken_over(client, clock, sent, taken_over)
            recorded = await statements.record_delivered(sent, take=True, taker=taker)

            sent_orm = await _take_and_send(client, taker, by_orm)
            await _taken_over(client, clock, sent_orm, taken_over)
            async with payguard.db_session() as db:
                steps = await record_attempts(db, payguard.config, sent_orm, clock.now())
                endpoint = await db.get_one(WebhookEndpoint, by_orm)
                taken = await taker.take_more(db, endpoint, test_mode=sent_orm[0][0].test_mode)
                await db.commit()

            assert len(rx.received) == 2 * FREE
        assert recorded is not None
        assert recorded.steps == steps
        assert steps[taken_over:] == [Step(DeliveryStatus.DELIVERED)] * (FREE - taken_over)
        assert recorded.taken.more_due is taken.more_due is (taken_over < FREE)
        assert [_sent(a) for a in recorded.taken.attempts] == [_sent(a) for a in taken.attempts]
        assert len(taken.attempts) == FREE - taken_over  # the taken-over ones are still in flight
        mine, theirs = await _stored(client, by_statements), await _stored(client, by_orm)
        assert mine == theirs
        failing_since, deliveries, attempts = mine
        assert (failing_since is None) is (taken_over < FREE)  # only a recorded success ends the failing spell
        assert sum(deliveries.values()) == EVENTS
        delivered = sum(count for key, count in deliveries.items() if key[1] is DeliveryStatus.DELIVERED)
        assert delivered == FREE - taken_over
        assert sum(attempts.values()) == FREE  # every attempt is logged, recorded or not
        ((status, headers, body),) = {key[3:6] for key in attempts}
        assert (status, body) == (200, '{"ok": true}')
        assert ("x-request-id", "r-1") in headers
        assert "set-cookie" not in dict(headers)  # a safe subset only


async def test_the_batch_takes_a_retried_delivery_as_a_manual_attempt(client_for: ClientFactory) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=FREE) as client:
        with receiver() as rx:
            by_statements, _ = await _two_endpoints_with_one_backlog(client, clock, rx.url)
            payguard = payguard_of(client.app)
            assert payguard.delivery_statements is not None
            taker = AttemptTaker(payguard.config, SecretBox(payguard.config.webhook_secret_key))
            sent = await _take_and_send(client, taker, by_statements)

            recorded = await payguard.delivery_statements.record_delivered(sent, take=True, taker=taker)

        assert recorded is not None
        triggers = [a.trigger for a in recorded.taken.attempts]
        assert triggers == [AttemptTrigger.MANUAL, AttemptTrigger.SCHEDULED, AttemptTrigger.SCHEDULED]  # the 4th


@ON_BOTH_DATABASES
async def test_runs_of_one_endpoint_at_once_never_have_more_attempts_in_flight_than_it_allows(
    client_for: ClientFactory,
) -> None:
    """Two runs share one endpoint's backlog, each recording and taking under the endpoint's lock, counting the
    other's attempts in flight."""
    clock = ManualClock()
    pause, backlog, limit = 0.3, 12, 4
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=limit) as client:
        with receiver(Answer(204, delay=pause)) as rx:
            merchants = await seed_merchants(client)
            await create_endpoint(client, url=rx.url)
            clock.advance(1)
            for _ in range(backlog):
                await record_event(client, clock, merchants["acme"], "payment.succeeded")
            await sweep_webhooks({"payguard": payguard_of(client.app)})
            async with payguard_of(client.app).db_session() as db:
                rows = sorted(await db.scalars(select(WebhookDelivery)), key=lambda row: (row.created_at, row.id))
                ids = [row.id for row in rows]
                for row in rows[-2:]:  # two attempts of a third run are in flight: the first run takes two
                    row.lease_until = clock.now() + timedelta(seconds=30)
                await db.commit()
            deliverer = payguard_of(client.app).webhook_deliverer()

            first = asyncio.create_task(deliverer.deliver_due(ids[0]))
            await _arrivals(rx, 2)
            async with payguard_of(client.app).db_session() as db:  # the third run's attempts end (unanswered)
                for delivery_id in ids[-2:]:
                    (await db.get_one(WebhookDelivery, delivery_id)).lease_until = None
                await db.commit()
                free = await db.scalar(select(WebhookDelivery.id).where(WebhookDelivery.lease_until.is_(None)).limit(1))
            assert free is not None
            second = asyncio.create_task(deliverer.deliver_due(free))  # it takes the two attempts now free
            runs = await asyncio.gather(first, second)

            assert all(run.attempts > 2 for run in runs)  # both went on taking, side by side
            assert sum(run.attempts for run in runs) == backlog
            assert set(rx.by_id().values()) == {1}
            assert len(rx.by_id()) == backlog
            assert rx.most_at_once(pause) == limit  # never more


async def _arrivals(rx: Receiver, count: int) -> None:
    async with asyncio.timeout(10):
        while len(rx.received) < count:  # noqa: ASYNC110 - the receiver is another thread's: poll it
            await asyncio.sleep(0.01)


@ON_BOTH_DATABASES
async def test_an_endpoint_disabled_while_a_batch_is_in_flight_gets_nothing_more(client_for: ClientFactory) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=3) as client:
        with receiver(Answer(204, delay=0.3)) as rx:
            merchants = await seed_merchants(client)
            endpoint = await create_endpoint(client, url=rx.url)
            clock.advance(1)
            for _ in range(8):
                await record_event(client, clock, merchants["acme"], "payment.succeeded")
            await sweep_webhooks({"payguard": payguard_of(client.app)})
            async with payguard_of(client.app).db_session() as db:
                first = min(await db.scalars(select(WebhookDelivery)), key=lambda row: (row.created_at, row.id)).id

            run = asyncio.create_task(payguard_of(client.app).webhook_deliverer().deliver_due(first))
            await _arrivals(rx, 3)
            disabled = await client.patch(f"{ENDPOINTS}/{endpoint['id']}", json={"enabled": False}, headers=keyed())
            assert disabled.status_code == 200, disabled.text
            done = await run

            assert len(rx.received) == 3  # the batch in flight, nothing after it
        assert (done.attempts, done.later) == (3, [])
        async with payguard_of(client.app).db_session() as db:
            statuses = Counter(row.status for row in await db.scalars(select(WebhookDelivery)))
            logged = len(list(await db.scalars(select(WebhookAttempt))))
        assert statuses == {DeliveryStatus.DELIVERED: 3, DeliveryStatus.CANCELLED: 5}  # none left for the sweep
        assert logged == 3


@ON_BOTH_DATABASES
@pytest.mark.parametrize("body", [b"o\x00k", b"\xff\xfe not utf-8"])
async def test_an_answer_the_database_cannot_hold_as_text_is_logged_readable(
    client_for: ClientFactory, body: bytes
) -> None:
    """A receiver's NUL byte or broken UTF-8 in its answer must not keep its delivery from being recorded."""
    clock = ManualClock()
    async with client_for(clock=clock) as client:
        with receiver(Answer(200, body=body)) as rx:
            merchants = await seed_merchants(client)
            await create_endpoint(client, url=rx.url)
            clock.advance(1)
            await record_event(client, clock, merchants["acme"], "payment.succeeded")
            await sweep_webhooks({"payguard": payguard_of(client.app)})
            async with payguard_of(client.app).db_session() as db:
                (delivery_id,) = await db.scalars(select(WebhookDelivery.id))

            run = await payguard_of(client.app).webhook_deliverer().deliver_due(delivery_id)

        assert run.status is DeliveryStatus.DELIVERED
        async with payguard_of(client.app).db_session() as db:
            (attempt,) = await db.scalars(select(WebhookAttempt))
        assert attempt.response_status == 200
        assert attempt.response_body == body.decode("utf-8", "replace").replace("\x00", "\ufffd")


async def _orm_take(client: Client, taker: AttemptTaker, delivery_id: UUID) -> Taken | Step:
    async with payguard_of(client.app).db_session() as db:
        taken = await taker.take(db, delivery_id, manual=False, more=True)
        await db.commit()
    return taken


@pytest.mark.parametrize("asked", ["first due", "retried by hand, not due yet", "the last of the backlog"])
async def test_the_take_statement_takes_what_the_orm_path_takes(client_for: ClientFactory, asked: str) -> None:
    """A run's first take: the delivery asked for, then the endpoint's longest due ones in its free attempts."""
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=FREE) as client:
        endpoints = await _two_endpoints_with_one_backlog(client, clock, "http://127.0.0.1:9/hooks")  # none sent
        payguard = payguard_of(client.app)
        assert payguard.delivery_statements is not None
        taker = AttemptTaker(payguard.config, SecretBox(payguard.config.webhook_secret_key))
        picked = []
        async with payguard.db_session() as db:
            for endpoint_id in endpoints:
                rows = await _rows(db, endpoint_id)
                if asked == "first due":
                    picked.append(rows[0].id)
                elif asked == "the last of the backlog":  # the others are done: fewer due than attempts free
                    for row in rows[:-2]:
                        row.status, row.next_attempt_at = DeliveryStatus.DELIVERED, None
                    picked.append(rows[-1].id)
                else:
                    rows[-1].manual_retry, rows[-1].next_attempt_at = True, clock.now() + timedelta(hours=1)
                    picked.append(rows[-1].id)
            await db.commit()

        by_statement = await payguard.delivery_statements.take_due(picked[0], taker=taker)
        by_orm = await _orm_take(client, taker, picked[1])

        assert isinstance(by_statement, Taken)
        assert isinstance(by_orm, Taken)
        assert [_sent(a) for a in by_statement.attempts] == [_sent(a) for a in by_orm.attempts]
        assert by_statement.attempts[0].delivery_id == picked[0]  # the one asked for comes first
        assert by_statement.more_due is by_orm.more_due is (asked != "the last of the backlog")
        assert len(by_orm.attempts) == (2 if asked == "the last of the backlog" else FREE)
        if asked.startswith("retried"):
            assert by_orm.attempts[0].trigger is AttemptTrigger.MANUAL
        mine, theirs = await _stored(client, endpoints[0]), await _stored(client, endpoints[1])
        assert mine == theirs


@pytest.mark.parametrize(
    "why",
    ["not due", "held", "delivered", "endpoint busy", "endpoint disabled", "endpoint deleted", "no such delivery"],
)
async def test_the_take_statement_leaves_every_other_case_to_the_orm_path(client_for: ClientFactory, why: str) -> None:
    clock = ManualClock()
    async with client_for(clock=clock, webhook_max_in_flight_per_endpoint=FREE) as client:
        endpoints = await _two_endpoints_with_one_backlog(client, clock, "http://127.0.0.1:9/hooks")
        payguard = payguard_of(client.app)
        assert payguard.delivery_statements is not None
        taker = AttemptTaker(payguard.config, SecretBox(payguard.config.webhook_secret_key))
        async with payguard.db_session() as db:
            rows = await _rows(db, endpoints[0])
            asked = rows[0].id
            if why == "not due":
                rows[0].next_attempt_at = clock.now() + timedelta(minutes=5)
            elif why == "held":  # by an attempt of another run; the endpoint has attempts free
                rows[0].lease_until = clock.now() + timedelta(seconds=30)
            elif why == "no such delivery":
                asked = uuid4()
            elif why == "endpoint deleted":
                (await db.get_one(WebhookEndpoint, endpoints[0])).deleted_at = clock.now()
            elif why == "delivered":
                rows[0].status, rows[0].next_attempt_at = DeliveryStatus.DELIVERED, None
            elif why == "endpoint busy":
                for row in rows[1 : 1 + FREE]:
                    row.lease_until = clock.now() + timedelta(seconds=30)
            else:
                (await db.get_one(WebhookEndpoint, endpoints[0])).enabled = False
            await db.commit()
        before = await _stored(client, endpoints[0])

        assert await payguard.delivery_statements.take_due(asked, taker=taker) is None

        assert await _stored(client, endpoints[0]) == before  # nothing changed: the ORM path decides
        decided = await _orm_take(client, taker, asked)
        assert isinstance(decided, Step)
        if why == "no such delivery":
            assert decided == Step(None)
