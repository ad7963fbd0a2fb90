"""Background work: the session expiry job, run by real SAQ workers on Redis (and on Postgres)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

from saq import Queue
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from litestar_payguard.jobs import expire_sessions
from litestar_payguard.jobs.worker import build_worker
from litestar_payguard.testing import ManualClock
from litestar_payguard.testing.servers import Server
from tests.integration.conftest import ALICE, Client, ClientFactory, Store, create_session, payguard_of
from tests.support import eventually

BASE = "/payguard/sessions"


async def _open_sessions(client: Client, count: int) -> list[dict[str, object]]:
    return [await create_session(client, headers={"X-Customer": f"c{index}"}) for index in range(count)]


async def test_the_worker_expires_sessions_past_their_expiry_and_cancels_their_payments(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    async with client_for(run_worker_in_app=True) as client:
        due = await _open_sessions(client, 2)
        completed = await create_session(client, headers={"X-Customer": "payer"})
        await client.post(
            f"{BASE}/{completed['id']}/complete", json={"gatewayPaymentId": "p"}, headers={"X-Customer": "payer"}
        )
        # The in-app worker confirms the payment with the gateway.
        await eventually(lambda: store.count("payguard_session", "status = 'completed'"))
        clock.advance(10 * 60)
        fresh = await create_session(client, headers={"X-Customer": "late"})
        clock.advance(6 * 60)

        expired = await payguard_of(client.app).queue.apply("expire_sessions", timeout=20)

    assert expired == 2
    statuses = {row["id"]: row["status"] for row in await store.rows("SELECT id::text, status FROM payguard_session")}
    assert [statuses[str(session["id"])] for session in due] == ["expired", "expired"]
    assert statuses[str(fresh["id"])] == "active"
    assert statuses[str(completed["id"])] == "completed"
    assert await store.count("payguard_payment", "status = 'cancelled'") == 2
    assert await store.count("payguard_payment", "status = 'succeeded'") == 1
    assert await store.event_types(str(due[0]["id"])) == ["session.created", "session.interrupted", "session.expired"]
    assert await store.count("payguard_event", "type = 'payment.cancelled'") == 2


async def test_the_job_works_in_committed_batches_until_none_is_left(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    async with client_for(run_worker_in_app=True, session_cleanup_batch_size=3) as client:
        await _open_sessions(client, 8)
        clock.advance(15 * 60)

        expired = await payguard_of(client.app).queue.apply("expire_sessions", timeout=20)

    assert expired == 8
    assert await store.count("payguard_session", "status = 'expired'") == 8


async def test_concurrent_runs_never_expire_a_session_twice(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    async with client_for(run_worker_in_app=True, session_cleanup_batch_size=5, worker_concurrency=4) as client:
        await _open_sessions(client, 40)
        clock.advance(15 * 60)
        queue = payguard_of(client.app).queue

        results = await asyncio.gather(*(queue.apply("expire_sessions", timeout=30) for _ in range(4)))

    assert sum(results) == 40
    assert await store.count("payguard_session", "status = 'expired'") == 40
    assert await store.count("payguard_session_event", "type = 'expired'") == 40
    assert await store.count("payguard_event", "type = 'session.expired'") == 40


async def test_the_cron_schedule_registers_the_jobs(client: Client) -> None:
    worker = build_worker(payguard_of(client.app), handle_signals=False)

    assert [(job.function.__qualname__, job.cron) for job in worker.cron_jobs] == [
        ("expire_sessions", "*/5 * * * *"),
        ("expire_stale_payments", "*/15 * * * *"),
        ("purge_idempotency_keys", "0 * * * *"),
        ("purge_events", "23 3 * * *"),
        ("reconcile", "* * * * *"),
        ("sweep_webhooks", "* * * * * */2"),  # every 2 s: the seconds field
    ]
    assert worker.concurrency == 5
    assert {
        "expire_sessions",
        "expire_stale_payments",
        "process_payment",
        "process_refund",
        "purge_events",
        "purge_idempotency_keys",
        "reconcile",
        "deliver_webhook",
        "sweep_webhooks",
    } <= set(worker.functions)


async def test_a_postgres_queue_works_too(
    client_for: ClientFactory, store: Store, clock: ManualClock, database_url: str, postgres_server: Server
) -> None:
    parts = urlsplit(database_url)
    queue_url = urlunsplit(parts._replace(scheme="postgresql"))
    async with client_for(queue_url=queue_url, run_worker_in_app=True) as client:
        await create_session(client, headers=ALICE)
        clock.advance(15 * 60)

        expired = await payguard_of(client.app).queue.apply("expire_sessions", timeout=20)

    assert expired == 1
    assert await store.scalar("SELECT status FROM payguard_session") == "expired"


async def test_a_queue_the_host_passes_is_used_and_left_open(
    client_for: ClientFactory, store: Store, clock: ManualClock, redis_url: str, queue_name: str
) -> None:
    host_queue = Queue.from_url(redis_url, name=f"{queue_name}-host")
    await host_queue.connect()
    try:
        async with client_for(queue_url=None, queue=host_queue, run_worker_in_app=True) as client:
            assert payguard_of(client.app).queue is host_queue
            await create_session(client, headers=ALICE)
            clock.advance(15 * 60)
            expired = await host_queue.apply("expire_sessions", timeout=20)
        # payguard did not close the host's queue: it still answers.
        assert await host_queue.info() is not None
    finally:
        await host_queue.disconnect()

    assert expired == 1
    assert await store.scalar("SELECT status FROM payguard_session") == "expired"


async def test_the_job_skips_a_session_another_transaction_holds(
    client_for: ClientFactory, store: Store, clock: ManualClock, engine: AsyncEngine
) -> None:
    """SKIP LOCKED: a held row is left for a later run instead of blocking the job."""
    async with client_for(run_worker_in_app=True) as client:
        held, *_ = await _open_sessions(client, 4)
        clock.advance(15 * 60)
        async with engine.connect() as other:
            transaction = await other.begin()
            await other.execute(text("SELECT 1 FROM payguard_session WHERE id = :id FOR UPDATE"), {"id": held["id"]})
            expired_while_held = await payguard_of(client.app).queue.apply("expire_sessions", timeout=10)
            await transaction.rollback()
        expired_later = await payguard_of(client.app).queue.apply("expire_sessions", timeout=10)

    assert (expired_while_held, expired_later) == (3, 1)
    assert await store.count("payguard_session", "status = 'expired'") == 4


async def test_sessions_whose_payment_is_with_the_gateway_are_neither_expired_nor_counted(
    client: Client, store: Store, clock: ManualClock
) -> None:
    waiting = await create_session(client)
    await client.post(f"{BASE}/{waiting['id']}/complete", json={"gatewayPaymentId": "p"}, headers=ALICE)
    due = await create_session(client)
    clock.advance(16 * 60)

    expired = await expire_sessions({"payguard": payguard_of(client.app)})

    assert expired == 1
    statuses = {row["id"]: row["status"] for row in await store.rows("SELECT id::text, status FROM payguard_session")}
    assert (statuses[waiting["id"]], statuses[due["id"]]) == ("active", "expired")
