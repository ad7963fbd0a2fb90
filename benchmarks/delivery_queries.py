"""The two queries a delivery job runs per batch, on an endpoint that has kept many deliveries (diagnostic).

    ./scripts/uv run --group dev python -m benchmarks.delivery_queries --kept 200000 --due 20

One endpoint with ``--kept`` deliveries (what 30 days of retention keep), ``--due`` of them pending and due (a
receiver that fell behind), and 99 other endpoints with one due delivery each, on real Postgres 15. Times, each
with its plan, first without migration 0003's two indexes, then with them:

- the in-flight count (``due.in_flight``);
- the due backlog's lock (``due.lock_due``);
- the sweep's pick of each endpoint's longest due delivery: the ``row_number()`` over every due row that the
  batched runs first used, and the per-endpoint lookup (``sweep._hand_out_due``) that replaced it.
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
RANKED = (
    "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY endpoint_id ORDER BY next_attempt_at, id) AS rank "
    "FROM payguard_webhook_delivery WHERE status = 'pending' AND next_attempt_at <= now() "
    "AND (lease_until IS NULL OR lease_until <= now())) AS due WHERE rank = 1 LIMIT 1000"
)
PER_ENDPOINT = (
    "SELECT e.id, (SELECT d.id FROM payguard_webhook_delivery d WHERE d.endpoint_id = e.id AND d.status = 'pending' "
    "AND d.next_attempt_at <= now() AND (d.lease_until IS NULL OR d.lease_until <= now()) "
    "ORDER BY d.next_attempt_at, d.id LIMIT 1) FROM payguard_webhook_endpoint e"
)
INDEXES = (
    "CREATE INDEX ix_payguard_webhook_delivery_leased ON payguard_webhook_delivery (endpoint_id, lease_until) "
    "WHERE lease_until IS NOT NULL",
    "CREATE INDEX ix_payguard_webhook_delivery_endpoint_due ON payguard_webhook_delivery "
    "(endpoint_id, status, next_attempt_at, id)",
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
    "UPDATE payguard_webhook_delivery SET status = 'pending', next_attempt_at = now() - interval '1 minute' "
    "WHERE id IN (SELECT id FROM payguard_webhook_delivery LIMIT :due)",
    "INSERT INTO payguard_webhook_endpoint (id, merchant_id, url, event_types, secret, enabled, created_at, "
    "updated_at) SELECT gen_random_uuid(), :m, 'https://hooks.example/' || n, '[]', 's', true, now(), now() "
    "FROM generate_series(1, 99) AS n",
    "INSERT INTO payguard_webhook_delivery (id, endpoint_id, event_id, event_type, status, attempts, manual_retry, "
    "next_attempt_at, created_at, updated_at) SELECT gen_random_uuid(), e.id, (SELECT id FROM payguard_event "
    "LIMIT 1), 'payment.succeeded', 'pending', 0, false, now() - interval '1 minute', now(), now() "
    "FROM payguard_webhook_endpoint e WHERE e.id <> :e",
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


async def bench(kept: int, due: int) -> None:
    with servers(fast_postgres=False) as (postgres, _redis):
        engine = create_async_engine(await create_database(postgres))
        merchant, endpoint = uuid.uuid4(), uuid.uuid4()
        async with engine.begin() as connection:
            await connection.execute(text("DROP INDEX ix_payguard_webhook_delivery_leased"))
            await connection.execute(text("DROP INDEX ix_payguard_webhook_delivery_endpoint_due"))
            for statement in SEED:
                await connection.execute(text(statement), {"m": merchant, "e": endpoint, "kept": kept, "due": due})
            await connection.execute(text("ANALYZE"))
        queries = (
            ("in-flight count", IN_FLIGHT),
            ("due backlog", DUE),
            ("sweep pick, row_number()", RANKED),
            ("sweep pick, per endpoint", PER_ENDPOINT),
        )
        for label in ("without 0003's indexes", "with them"):
            if label == "with them":
                async with engine.begin() as connection:
                    for index in INDEXES:
                        await connection.execute(text(index))
                    await connection.execute(text("ANALYZE"))
            for name, sql in queries:
                ms, plan = await timed(engine, sql, endpoint)
                print(f"{label}, {name}: {ms:.2f} ms\n  " + plan.replace("\n", "\n  "))
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kept", type=int, default=200_000, help="deliveries the endpoint has kept")
    parser.add_argument("--due", type=int, default=20, help="how many of them are pending and due")
    args = parser.parse_args()
    asyncio.run(bench(args.kept, args.due))


if __name__ == "__main__":
    main()
