"""The stale-payment cleanup job against one bulk UPDATE of the same rows, on the same database, in the same run.

Each round seeds the same table twice: ``--rows`` stale pending payments (one customer each, created two hours
ago) and a tenth as many fresh ones the cleanup must leave alone, then VACUUM ANALYZE. Once it times one
``UPDATE … SET status = 'expired'`` of the stale rows (the baseline: what the database can do, with no events,
no run record, no batching); once it runs payguard's ``expire_stale_payments`` job in a worker process of its
own (batches of ``--batch-size``, each committing its expiries, their outbox events and the run's count). The
order alternates between rounds. Reported: bulk time / job time per round (target >= 0.5) and its median. A
second baseline does the job's writes (the payments and one ``payment.expired`` event each, same payload) in
one unbatched statement: the job against it is the cost of batching, locking and recording alone.

Memory: the same job, in fresh processes, on ``--rows`` and on a tenth as many rows: the growth of the process's
peak RSS during the run must not follow the row count. One more process expires everything in a single batch
(batch size = rows), to show that the measure does see memory that grows with the rows.

    ./scripts/uv run --group dev python -m benchmarks.cleanup --rows 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import asyncpg

from benchmarks.common import RESULTS, ROOT, asyncpg_dsn, bench_merchant, create_database, machine
from litestar_payguard.services.payments import payload_sql
from litestar_payguard.testing.servers import FAST_POSTGRES_SETTINGS, find_postgres

STALE_AGE = timedelta(hours=2)


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


async def seed(url: str, rows: int) -> None:
    """Empty the tables, add ``rows`` stale and ``rows // 10`` fresh pending payments, then VACUUM ANALYZE."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute("TRUNCATE payguard_payment, payguard_event, payguard_cleanup_run CASCADE")
        merchant = await bench_merchant(connection)
        insert = (
            "INSERT INTO payguard_payment (id, merchant_id, customer_id, bundle_id, plan_name, amount, currency, "
            "status, mode, gateway, amount_refunded, metadata, created_at, updated_at) "
            "SELECT gen_random_uuid(), $1, $2 || g, 'gold', 'Gold monthly', 4900, 'USD', 'pending', 'test', "
            "'simulated', 0, '{\"order\": \"bench\"}'::jsonb, now() - $3::interval - g * interval '1 millisecond', "
            "now() "
            "FROM generate_series(1, $4) AS g"
        )
        await connection.execute(insert, merchant, "stale-", STALE_AGE, rows)
        await connection.execute(insert, merchant, "fresh-", timedelta(minutes=1), rows // 10)
        await connection.execute("VACUUM ANALYZE payguard_payment")
        await connection.execute("VACUUM ANALYZE payguard_event")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


BULK_UPDATE = (
    "UPDATE payguard_payment SET status = 'expired', failure_code = 'stale', failure_message = NULL, "
    "updated_at = now() WHERE status = 'pending' AND created_at <= now() - interval '30 minutes'"
)
BULK_UPDATE_WITH_EVENTS = f"""
    WITH expired AS ({BULK_UPDATE} RETURNING *)
    INSERT INTO payguard_event (id, merchant_id, type, subject_id, payload, occurred_at, created_at, updated_at)
    SELECT gen_random_uuid(), merchant_id, 'payment.expired', id, {payload_sql()}, now(), now(), now() FROM expired
"""
"""The second baseline: the same writes as the job (the payments and one event each), in one statement."""


async def bulk(url: str, sql: str) -> tuple[float, int]:
    """A baseline: one statement, committed. Returns seconds and the rows it wrote."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        started = time.perf_counter()
        async with connection.transaction():
            status = await connection.execute(sql)
        elapsed = time.perf_counter() - started
    finally:
        await connection.close()
    return elapsed, int(status.split()[-1])


def run_job(url: str, batch_size: int) -> dict[str, Any]:
    """Run the cleanup job in a worker process of its own; return what it measured."""
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.cleanup_worker", url, str(batch_size)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


async def expired_count(url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        payments = await connection.fetchval("SELECT count(*) FROM payguard_payment WHERE status = 'expired'")
        events = await connection.fetchval("SELECT count(*) FROM payguard_event WHERE type = 'payment.expired'")
    finally:
        await connection.close()
    return int(payments), int(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000, help="the job's batch size (its default)")
    parser.add_argument("--fast-postgres", action="store_true", help="fsync=off, synchronous_commit=off")
    args = parser.parse_args()

    postgres = find_postgres(settings=FAST_POSTGRES_SETTINGS if args.fast_postgres else None)
    try:
        url = asyncio.run(create_database(postgres))
        rounds: list[dict[str, float]] = []
        for number in range(args.rounds):
            timings: dict[str, float] = {}
            order = ("bulk", "bulk_events", "job") if number % 2 == 0 else ("job", "bulk_events", "bulk")
            for kind in order:
                asyncio.run(seed(url, args.rows))
                if kind.startswith("bulk"):
                    sql = BULK_UPDATE if kind == "bulk" else BULK_UPDATE_WITH_EVENTS
                    timings[kind], written = asyncio.run(bulk(url, sql))
                    assert written == args.rows, written
                else:
                    result = run_job(url, args.batch_size)
                    timings["job"] = result["seconds"]
                    assert result["expired"] == args.rows, result
                    assert asyncio.run(expired_count(url)) == (args.rows, args.rows)
            timings["ratio"] = timings["bulk"] / timings["job"]
            timings["ratio_same_writes"] = timings["bulk_events"] / timings["job"]
            rounds.append(timings)
            print(
                f"round {number + 1}: bulk UPDATE {timings['bulk']:.2f} s, bulk UPDATE + events "
                f"{timings['bulk_events']:.2f} s, cleanup job {timings['job']:.2f} s, ratio {timings['ratio']:.2f}, "
                f"same-writes ratio {timings['ratio_same_writes']:.2f}"
            )

        memory: dict[str, dict[str, Any]] = {}
        for label, rows, batch in (
            ("small", args.rows // 10, args.batch_size),
            ("full", args.rows, args.batch_size),
            ("unbatched", args.rows, args.rows),
        ):
            asyncio.run(seed(url, rows))
            measured = memory[label] = {"rows": rows, "batch_size": batch, **run_job(url, batch)}
            print(
                f"memory, {rows} rows in batches of {batch}: peak RSS grew {_mib(measured['rss_growth_kib'])} "
                f"during the run (peak {_mib(measured['peak_rss_kib'])})"
            )
    finally:
        postgres.stop()

    ratio = statistics.median(entry["ratio"] for entry in rounds)
    same_writes = statistics.median(entry["ratio_same_writes"] for entry in rounds)
    growth = memory["full"]["rss_growth_kib"] / max(memory["small"]["rss_growth_kib"], 1)
    each = ", ".join(f"{entry['ratio']:.2f}" for entry in rounds)
    print(f"\ncleanup job / bulk UPDATE speed = {ratio:.2f} (target >= 0.5)  (rounds: {each})")
    each = ", ".join(f"{entry['ratio_same_writes']:.2f}" for entry in rounds)
    print(f"cleanup job / one statement with the same writes = {same_writes:.2f}  (rounds: {each})")
    print(
        f"peak RSS growth, {args.rows} rows vs {args.rows // 10}: {_mib(memory['full']['rss_growth_kib'])} vs "
        f"{_mib(memory['small']['rss_growth_kib'])}; unbatched {_mib(memory['unbatched']['rss_growth_kib'])}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"cleanup-{int(time.time())}.json"
    out.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": machine(),
                "settings": vars(args),
                "rounds": rounds,
                "ratio": ratio,
                "ratio_same_writes": same_writes,
                "memory": memory,
                "memory_growth_full_vs_small": growth,
            },
            indent=2,
        )
    )
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
