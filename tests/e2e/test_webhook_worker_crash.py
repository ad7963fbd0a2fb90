"""Outbound webhooks survive a worker killed mid-delivery and a Redis that lost its queued jobs.

A delivery's row is the promise, its SAQ job only the fast path. Twenty events of one test-mode merchant go to
one endpoint, a receiver on 127.0.0.1 that holds each answer for a while.

- Worker process 1 (``litestar payguard worker``) is killed with SIGKILL while several attempts wait for their
  answers: those deliveries stay leased to a dead worker. Worker process 2 sweeps every second; once the leases
  (the attempt's timeout plus a margin) run out it sends them again. Every event arrives, none more than twice
  (at least once: the receiver dedupes by ``webhook-id``), and every delivery ends ``delivered``.
- With no worker running, the events are fanned out and their delivery jobs enqueued (the sweep job, run in
  this process), then the queue's Redis data is dropped, as a Redis restarted without its data would. A worker
  started afterwards finds the due deliveries in the database and delivers every event.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from litestar_payguard import MerchantService
from litestar_payguard.clock import SystemClock
from litestar_payguard.jobs.webhooks import sweep_webhooks
from litestar_payguard.schemas.webhooks import WebhookTest
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.testing.servers import Server
from tests.e2e.conftest import BIN, process
from tests.hostapp import create_app
from tests.integration.webhooks.receiver import Answer, Receiver, receiver
from tests.support import Client, Store, payguard_of, serve

EVENTS = 20
IN_FLIGHT = 8
"""Attempts one endpoint may have in flight (the worker has more job slots than that)."""
RETRYING = 10
"""Events whose first attempt failed before Redis lost its data: their retries were jobs scheduled in it."""
HELD_SECONDS = 3.0
"""How long the receiver holds each answer."""
TIMEOUT_SECONDS = 5
"""The attempt's deadline: the lease is this plus ten seconds."""
MERCHANT = {"X-Api-Key": "key_whcrash", "X-Api-Secret": "secret_whcrash"}
COMMAND = [str(BIN / "litestar"), "--app", "tests.hostapp:app_from_env", "payguard", "worker"]
CLOCK = SystemClock()


def _environment(database_url: str, redis_server: Server, queue_name: str) -> dict[str, str]:
    return {
        "PAYGUARD_TEST_DATABASE_URL": database_url,
        "PAYGUARD_TEST_QUEUE_URL": redis_server.url,
        "PAYGUARD_TEST_QUEUE_NAME": queue_name,
        "PAYGUARD_WORKER_CONCURRENCY": str(IN_FLIGHT + 4),
        "PAYGUARD_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT": str(IN_FLIGHT),
        "PAYGUARD_WEBHOOK_SWEEP_SECONDS": "1",
        "PAYGUARD_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
    }


@asynccontextmanager
async def _host(database_url: str, redis_server: Server, queue_name: str) -> AsyncIterator[Client]:
    """The host app in this process, without a worker: what it enqueues waits in Redis for the CLI workers."""
    app = create_app(database_url=database_url, queue_url=redis_server.url, queue_name=queue_name, clock=CLOCK)
    async with serve(app) as client:
        yield client


async def _seed(client: Client, url: str, events: int = EVENTS) -> list[str]:
    """A test-mode merchant, its endpoint at ``url``, and its events (not fanned out yet); the events' ids."""
    async with payguard_of(client.app).db_session() as db:
        merchant = await MerchantService(db).ensure(
            MERCHANT["X-Api-Key"], name="Crash", secret=MERCHANT["X-Api-Secret"]
        )
        merchant_id = merchant.id
        await db.commit()
    response = await client.post(
        "/payguard/v1/webhook-endpoints",
        json={"url": url, "eventTypes": ["payment.*"]},
        headers={**MERCHANT, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    return await _record_events(client, merchant_id, events)


async def _record_events(client: Client, merchant_id: UUID, events: int) -> list[str]:
    """``events`` outbox events of the merchant, as the writers write them; their ids."""
    ids = []
    async with payguard_of(client.app).db_session() as db:
        for _ in range(events):
            subject = uuid.uuid4()
            event = Outbox(db, CLOCK).record(
                merchant_id=merchant_id,
                type="payment.succeeded",
                subject_id=subject,
                payload=WebhookTest(endpoint_id=subject, message="crash"),
                at=CLOCK.now(),
            )
            await db.flush()
            ids.append(str(event.id))
        await db.commit()
    return ids


def _text(log: Path) -> str:
    return log.read_text()


async def _until(
    condition: Callable[[], Awaitable[Any]],
    what: str,
    log: Path,
    patience: float,
    state: Callable[[], Awaitable[Any]] | None = None,
) -> Any:
    deadline = time.monotonic() + patience
    while not (result := await condition()):
        if time.monotonic() >= deadline:
            shown = "" if state is None else f"; state: {await state()}"
            raise AssertionError(f"timed out waiting for {what}{shown}; worker log:\n{_text(log)}")
        await asyncio.sleep(0.05)
    return result


async def _undelivered(store: Store) -> list[dict[str, Any]]:
    """The deliveries not delivered yet, with their attempts: what a timed-out wait shows."""
    return await store.rows(
        "SELECT d.id, d.status, d.attempts, d.next_attempt_at, d.lease_until, d.manual_retry, now() AS db_now,"
        " (SELECT string_agg(a.number || ':' || coalesce(a.response_status::text, a.error_kind::text, '-'), ',')"
        "  FROM payguard_webhook_attempt a WHERE a.delivery_id = d.id) AS tried"
        " FROM payguard_webhook_delivery d WHERE d.status <> 'delivered'"
    )


async def _statuses(store: Store) -> dict[str, str]:
    rows = await store.rows("SELECT event_id, status FROM payguard_webhook_delivery")
    return {str(row["event_id"]): str(row["status"]) for row in rows}


async def _finish_with_a_new_worker(env: dict[str, str], log: Path, store: Store, ids: list[str]) -> None:
    """Start a CLI worker and wait until every delivery is ``delivered``; it must still run, then stop cleanly."""
    with process(COMMAND, env=env, log=log) as worker:

        async def all_delivered() -> bool:
            return await _statuses(store) == dict.fromkeys(ids, "delivered")

        # A retry after a timeout on a loaded machine keeps its schedule (5 s, then 10 s): room for both.
        await _until(all_delivered, "every delivery to be delivered", log, 120, lambda: _undelivered(store))
        assert worker.poll() is None, _text(log)
    assert worker.returncode == 0, _text(log)


def _figures(rx: Receiver, ids: list[str]) -> dict[int, int]:
    """How many events arrived once, twice, ...; every event at least once, none more than twice."""
    counts = rx.by_id()
    assert set(counts) == set(ids), f"lost: {set(ids) - set(counts)}; unknown: {set(counts) - set(ids)}"
    assert max(counts.values()) <= 2, counts
    figures: dict[int, int] = {}
    for count in counts.values():
        figures[count] = figures.get(count, 0) + 1
    print(f"arrivals per webhook-id: {figures}")  # the figures, shown with -s
    return figures


async def test_a_worker_killed_mid_delivery_loses_no_event_and_sends_none_more_than_twice(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    queue_name = f"payguard-whcrash-{uuid.uuid4().hex[:8]}"
    env = _environment(database_url, redis_server, queue_name)
    with receiver(Answer(204, delay=HELD_SECONDS)) as rx:
        async with _host(database_url, redis_server, queue_name) as client:
            ids = await _seed(client, rx.url)
        first_log = tmp_path / "worker-1.log"
        with process(COMMAND, env=env, log=first_log) as worker:

            async def attempts_held() -> bool:
                delivered = list((await _statuses(store)).values()).count("delivered")
                return len(rx.received) - delivered >= IN_FLIGHT

            await _until(attempts_held, f"{IN_FLIGHT} attempts in flight", first_log, patience=30)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=20)
        assert worker.returncode == -signal.SIGKILL

        # The kill really interrupted deliveries: the receiver got requests whose answers nobody heard.
        held = await store.count(
            "payguard_webhook_delivery", "status = 'pending' AND lease_until > now() AND attempts >= 1"
        )
        assert held >= IN_FLIGHT, _text(first_log)

        await _finish_with_a_new_worker(env, tmp_path / "worker-2.log", store, ids)

    figures = _figures(rx, ids)
    assert figures.get(2, 0) >= IN_FLIGHT  # the interrupted attempts were made again
    attempts = await store.rows("SELECT attempts FROM payguard_webhook_delivery")
    assert all(1 <= row["attempts"] <= 2 for row in attempts), attempts


async def _retries_scheduled(env: dict[str, str], log: Path, store: Store, rx: Receiver, ids: list[str]) -> None:
    """Run a CLI worker until each event's first attempt failed (a 500) and its retry is scheduled; stop it."""
    with process(COMMAND, env=env, log=log) as worker:

        async def all_failed_once() -> bool:
            return len(rx.received) >= len(ids) and await store.count("payguard_webhook_attempt") >= len(ids)

        await _until(all_failed_once, "every first attempt to fail", log, patience=30)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
    assert worker.returncode == 0, _text(log)
    waiting = await store.count(
        "payguard_webhook_delivery", "status = 'pending' AND attempts = 1 AND next_attempt_at > now()"
    )
    assert waiting == len(ids), _text(log)  # each one's next attempt is a job scheduled in Redis


async def _drop_queued_jobs(client: Client, queue_name: str) -> tuple[int, int]:
    """Drop this queue's data from Redis, as a Redis restarted without its data would (other tests' queues stay).

    Returns:
        How many jobs were queued and scheduled before, and how many after.
    """
    queue = payguard_of(client.app).queue
    before = await queue.count("queued") + await queue.count("incomplete")
    keys = [
        key
        for pattern in (f"saq:{queue_name}:*", f"saq:job:{queue_name}:*")
        async for key in queue.redis.scan_iter(match=pattern)
    ]
    await queue.redis.delete(*keys)
    return before, await queue.count("queued") + await queue.count("incomplete")


async def test_deliveries_whose_queued_jobs_a_redis_restart_lost_all_arrive(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    queue_name = f"payguard-whlost-{uuid.uuid4().hex[:8]}"
    env = _environment(database_url, redis_server, queue_name)
    with receiver(*[Answer(500)] * RETRYING, Answer(204)) as rx:
        async with _host(database_url, redis_server, queue_name) as client:
            retrying = await _seed(client, rx.url, RETRYING)
            await _retries_scheduled(env, tmp_path / "worker-1.log", store, rx, retrying)
            # No worker now. New events are fanned out and their first attempts enqueued (the sweep job, run here).
            merchant_id = (await store.rows("SELECT merchant_id FROM payguard_webhook_endpoint"))[0]["merchant_id"]
            fresh = await _record_events(client, UUID(str(merchant_id)), EVENTS)
            swept = await sweep_webhooks({"payguard": payguard_of(client.app)})
            before, after = await _drop_queued_jobs(client, queue_name)
        assert swept["created"] == EVENTS
        # Each retry has its scheduled job; the fresh deliveries, one job for their endpoint (it delivers them all).
        assert (before >= RETRYING + 1, after) == (True, 0), (before, after)
        assert await _statuses(store) == dict.fromkeys(retrying + fresh, "pending")

        await _finish_with_a_new_worker(env, tmp_path / "worker-2.log", store, retrying + fresh)

    counts = rx.by_id()
    assert {event_id: counts.get(event_id) for event_id in retrying} == dict.fromkeys(retrying, 2)  # 500, then 204
    assert {event_id: counts.get(event_id) for event_id in fresh} == dict.fromkeys(fresh, 1)
    _figures(rx, retrying + fresh)
