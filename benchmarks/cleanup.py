"""The stale-payment cleanup job against the same writes done in one statement, on the same database, in the same run.

Each round seeds the same table three times: ``--rows`` stale pending payments (one customer each, created two
hours ago) and a tenth as many fresh ones the cleanup must leave alone, then VACUUM ANALYZE. Once it runs the
headline baseline: one statement doing the job's writes without batches, locks or a run record (``UPDATE … SET
status = 'expired'`` of the stale rows plus one ``payment.expired`` outbox event each, with the job's payload).
Once it runs payguard's ``expire_stale_payments`` job in a worker process of its own (batches of
``--batch-size``, each committing its expiries, their outbox events and the run's count). Once it times the
plain ``UPDATE`` alone (no events): what the database can do when nothing is published. The order alternates
between rounds. Reported, per round and as the median of the rounds: same-writes time / job time (target >= 0.8),
and plain-UPDATE time / job time beside it.

Memory: the same job, in fresh processes, on ``--rows`` and on a tenth as many rows: the growth of the process's
peak RSS during the run must not follow the row count. One more process expires everything in a single batch
(batch size = rows), to show that the measure does see memory that grows with the rows. ``--no-memory`` skips it.

    ./scripts/uv run --group dev python -m benchmarks.cleanup --rows 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    args = parser.parse_args()

    postgres = find_postgres(settings=FAST_POSTGRES_SETTINGS if args.fast_postgres else None)
    try:
        url = asyncio.run(create_database(postgres))
        rounds: list[dict[str, float]] = []
        for number in range(args.rounds):
            timings: dict[str, float] = {}
            order = ("bulk_events", "job", "bulk") if number % 2 == 0 else ("bulk", "job", "bulk_events")
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
            timings["load_average"] = os.getloadavg()[0]  # the machine is shared: others' work shows here
            timings["ratio_same_writes"] = timings["bulk_events"] / timings["job"]
            timings["ratio_bulk_update"] = timings["bulk"] / timings["job"]
            rounds.append(timings)
            print(
                f"round {number + 1}: bulk UPDATE + events {timings['bulk_events']:.2f} s, cleanup job "
                f"{timings['job']:.2f} s, bulk UPDATE {timings['bulk']:.2f} s; same-writes ratio "
                f"{timings['ratio_same_writes']:.2f}, bulk-UPDATE ratio {timings['ratio_bulk_update']:.2f}; "
                f"load average {timings['load_average']:.1f}"
            )

        memory: dict[str, dict[str, Any]] = {}
        sizes = [
            ("small", args.rows // 10, args.batch_size),
            ("full", args.rows, args.batch_size),
            ("unbatched", args.rows, args.rows),
        ]
        for label, rows, batch in [] if args.no_memory else sizes:
            asyncio.run(seed(url, rows))
            measured = memory[label] = {"rows": rows, "batch_size": batch, **run_job(url, batch)}
            print(
                f"memory, {rows} rows in batches of {batch}: peak RSS grew {_mib(measured['rss_growth_kib'])} "
                f"during the run (peak {_mib(measured['peak_rss_kib'])})"
            )
    finally:
        postgres.stop()

    same_writes = statistics.median(entry["ratio_same_writes"] for entry in rounds)
    bulk_update = statistics.median(entry["ratio_bulk_update"] for entry in rounds)
    each = ", ".join(f"{entry['ratio_same_writes']:.2f}" for entry in rounds)
    print(f"\ncleanup job / bulk UPDATE + events = {same_writes:.2f} (target >= 0.8)  (rounds: {each})")
    each = ", ".join(f"{entry['ratio_bulk_update']:.2f}" for entry in rounds)
    print(f"cleanup job / bulk UPDATE without events = {bulk_update:.2f}  (rounds: {each})")
    growth = None
    if memory:
        growth = memory["full"]["rss_growth_kib"] / max(memory["small"]["rss_growth_kib"], 1)
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
                "ratio_same_writes": same_writes,
                "ratio_bulk_update": bulk_update,
                "memory": memory,
                "memory_growth_full_vs_small": growth,
            },
            indent=2,
        )
    )
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
