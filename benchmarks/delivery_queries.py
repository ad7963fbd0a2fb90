"""The two queries a delivery job runs per batch, on an endpoint that has kept many deliveries (diagnostic).

    ./scripts/uv run --group dev python -m benchmarks.delivery_queries --kept 200000

One endpoint with ``--kept`` delivered deliveries (what 30 days of retention keep) and 20 due ones, on real
Postgres 15. Times the in-flight count (``due.in_flight``) and the due backlog's lock (``due.lock_due``), each
with its plan, first without the partial index ``ix_payguard_webhook_delivery_leased`` (as before migration
0003), then with it.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from benchmarks.common import create_database, servers

IN_FLIGHT = "SELECT count(*) FROM payguard_webhook_delivery WHERE endpoint_id = :e AND lease_until > now()"
DUE = (
    "SELECT id FROM payguard_webhook_delivery WHERE endpoint_id = :e AND status = 'pending' "
    "AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until <= now()) "
    "ORDER BY next_attempt_at LIMIT 5 FOR UPDATE SKIP LOCKED"
)
LEASED = (
    "CREATE INDEX ix_payguard_webhook_delivery_leased ON payguard_webhook_delivery (endpoint_id, lease_until) "
    "WHERE lease_until IS NOT NULL"
)
SEED = (
    "INSERT INTO payguard_merchant (id, name, api_key, test_mode, allowed_origins, created_at, updated_at) "
    "VALUES (:m, 'm', 'k', true, '[]', now(), now())",
    "INSERT INTO payguard_webhook_endpoint (id, merchant_id, url, event_types, secret, enabled, created_at, "
    "updated_at) VALUES (:e, :m, 'https://hooks.example/h', '[]', 's', true, now(), now())",
    "INSERT INTO payguard_event (id, merchant_id, type, subject_id, payload, occurred_at, fanned_out_at, "
    "created_at, updated_at) SELECT gen_random_uuid(), :m, 'payment.succeeded', gen_random_uuid(), '{}', now(), "
    "now(), now(), now() FROM generate_series(1, :kept)",
    "INSERT INTO payguard_webhook_delivery (id, endpoint_id, event_id, event_type, status, attempts, manual_retry, "
    "created_at, updated_at) SELECT gen_random_uuid(), :e, id, type, 'delivered', 1, false, now(), now() "
    "FROM payguard_event",
    "UPDATE payguard_webhook_delivery SET status = 'pending', next_attempt_at = now() "
    "WHERE id IN (SELECT id FROM payguard_webhook_delivery LIMIT 20)",
)


async def timed(engine: AsyncEngine, sql: str, endpoint: uuid.UUID, runs: int = 50) -> tuple[float, str]:
    """Milliseconds per run of ``sql`` (each in its own transaction), and its plan."""
    async with engine.connect() as connection:
        plan = "\n".join(row[0] for row in await connection.execute(text(f"EXPLAIN {sql}"), {"e": endpoint}))
        started = time.perf_counter()
        for _ in range(runs):
            await connection.execute(text(sql), {"e": endpoint})
            await connection.rollback()
    return (time.perf_counter() - started) / runs * 1000, plan


async def bench(kept: int) -> None:
    with servers(fast_postgres=False) as (postgres, _redis):
        engine = create_async_engine(await create_database(postgres))
        merchant, endpoint = uuid.uuid4(), uuid.uuid4()
        async with engine.begin() as connection:
            await connection.execute(text("DROP INDEX ix_payguard_webhook_delivery_leased"))
            for statement in SEED:
                await connection.execute(text(statement), {"m": merchant, "e": endpoint, "kept": kept})
            await connection.execute(text("ANALYZE"))
        for label in ("without the index", "with the index"):
            if label == "with the index":
                async with engine.begin() as connection:
                    await connection.execute(text(LEASED))
                    await connection.execute(text("ANALYZE"))
            for name, sql in (("in-flight count", IN_FLIGHT), ("due backlog", DUE)):
                ms, plan = await timed(engine, sql, endpoint)
                print(f"{label}, {name}: {ms:.2f} ms\n  " + plan.replace("\n", "\n  "))
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kept", type=int, default=200_000, help="delivered deliveries the endpoint has kept")
    asyncio.run(bench(parser.parse_args().kept))


if __name__ == "__main__":
    main()
