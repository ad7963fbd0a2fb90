"""A worker killed (SIGKILL) in the middle of a cleanup run loses nothing: what it committed stands and is
counted exactly, and the next run expires the rest."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from litestar_payguard.testing.servers import Server
from tests.e2e.conftest import BIN, process
from tests.hostapp import DEFAULT_MERCHANT_KEY, create_app
from tests.support import Store, payguard_of, serve

STALE = 20_000


async def _seed_stale_payments(store: Store) -> None:
    await store.execute(
        "INSERT INTO payguard_merchant (id, name, api_key, test_mode, created_at, updated_at) "
        "VALUES (gen_random_uuid(), 'crash', :key, true, now(), now()) ON CONFLICT (api_key) DO NOTHING",
        key=DEFAULT_MERCHANT_KEY,
    )
    await store.execute(
        "INSERT INTO payguard_payment (id, merchant_id, customer_id, bundle_id, amount, currency, status, mode, "
        "gateway, amount_refunded, metadata, created_at, updated_at) "
        "SELECT gen_random_uuid(), (SELECT id FROM payguard_merchant WHERE api_key = :key), 'c' || g, 'gold', "
        "4900, 'USD', 'pending', 'test', 'simulated', 0, '{}'::jsonb, now() - interval '2 hours', now() "
        "FROM generate_series(1, :rows) AS g",
        key=DEFAULT_MERCHANT_KEY,
        rows=STALE,
    )


async def _wait_for(store: Store, sql: str, patience: float = 60) -> None:
    deadline = time.monotonic() + patience
    while not await store.scalar(sql):
        assert time.monotonic() < deadline, f"timed out waiting for: {sql}"
        await asyncio.sleep(0.05)


async def test_a_worker_killed_mid_run_leaves_an_exact_count_and_the_next_run_finishes(
    tmp_path: Path, database_url: str, redis_server: Server, engine: AsyncEngine, store: Store
) -> None:
    await _seed_stale_payments(store)
    queue_name = f"payguard-crash-{uuid.uuid4().hex[:8]}"
    env = {
        "PAYGUARD_TEST_DATABASE_URL": database_url,
        "PAYGUARD_TEST_QUEUE_URL": redis_server.url,
        "PAYGUARD_TEST_QUEUE_NAME": queue_name,
        "PAYGUARD_STALE_CLEANUP_BATCH_SIZE": "50",
    }
    command = [str(BIN / "litestar"), "--app", "tests.hostapp:app_from_env", "payguard", "worker"]
    app = create_app(database_url=database_url, queue_url=redis_server.url, queue_name=queue_name)
    async with serve(app) as client:
        queue = payguard_of(app).queue
        with process(command, env=env, log=tmp_path / "worker.log") as worker:
            await queue.enqueue("expire_stale_payments", timeout=600)
            await _wait_for(store, "SELECT count(*) >= 1 FROM payguard_cleanup_run WHERE batches >= 5")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=20)
        assert worker.returncode == -signal.SIGKILL

        (run,) = await store.rows("SELECT expired_count, batches, finished_at FROM payguard_cleanup_run")
        expired = await store.count("payguard_payment", "status = 'expired'")
        events = await store.count("payguard_event", "type = 'payment.expired'")
        # The dead run: unfinished, and its count is exactly what it committed, batch by batch.
        assert run["finished_at"] is None
        assert 0 < run["expired_count"] == expired == events < STALE
        assert run["expired_count"] == 50 * run["batches"]

        forced = await client.post("/payguard/admin/cleanup/force", headers={"X-Role": "admin"})

    assert forced.status_code == 200, forced.text
    assert forced.json()["expired"] == STALE - expired
    assert await store.count("payguard_payment", "status = 'expired'") == STALE
    assert await store.count("payguard_event", "type = 'payment.expired'") == STALE
    assert (
        await store.scalar("SELECT count(DISTINCT subject_id) FROM payguard_event WHERE type = 'payment.expired'")
        == STALE
    )
    assert await store.scalar("SELECT sum(expired_count) FROM payguard_cleanup_run") == STALE
