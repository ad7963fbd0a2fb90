"""Where the cleanup job's time goes: its batched Postgres statement, and variants of it, against a bulk UPDATE.

Each variant runs batches of 1000 on one connection, as the job does (without the worker process, the run
record's start and finish, or the switch), on a freshly seeded table; 3 rounds, medians.

    ./scripts/uv run --group dev python -m benchmarks.cleanup_breakdown
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from benchmarks.cleanup import BULK_UPDATE, seed
from benchmarks.common import asyncpg_dsn, create_database
from litestar_payguard.services.payments import payload_sql
from litestar_payguard.services.pending.expiry_sql import _POSTGRES_ANY, START
from litestar_payguard.testing.servers import find_postgres

ROWS, BATCH = 100_000, 1000
JOB = str(_POSTGRES_ANY.text)
VARIANTS = {
    "the job's statement": JOB,
    "without FOR UPDATE SKIP LOCKED": JOB.replace("FOR UPDATE SKIP LOCKED", "").replace(
        "WITH stale AS (", "WITH stale AS MATERIALIZED ("
    ),
    "with an empty event payload": JOB.replace(payload_sql(), "'{}'::jsonb"),
    "without events": re.sub(r"\), events AS \(.*?FROM expired\n", "\n", JOB, flags=re.DOTALL),
}


def _numbered(sql: str) -> tuple[str, list[str]]:
    """``:name`` parameters as asyncpg's ``$n``."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"(?<!:):([a-z_]+)", number, sql), names


async def measure(url: str, sql: str | None) -> float:
    await seed(url, ROWS)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        run_id = await connection.fetchval(
            "INSERT INTO payguard_cleanup_run (id, trigger, started_at, expired_count, batches, created_at, "
            "updated_at) VALUES (gen_random_uuid(), 'manual', now(), 0, 0, now(), now()) RETURNING id"
        )
        now = datetime.now(UTC)
        started = time.perf_counter()
        if sql is None:
            async with connection.transaction():
                await connection.execute(BULK_UPDATE)
        else:
            query, names = _numbered(sql)
            after = START
            while True:
                values = {"cutoff": now - timedelta(minutes=30), "after": after, "limit": BATCH, "now": now}
                values["run_id"] = run_id
                async with connection.transaction():
                    count, last = await connection.fetchrow(query, *(values[name] for name in names))
                if count < BATCH:
                    break
                after = last
        return time.perf_counter() - started
    finally:
        await connection.close()


def main() -> None:
    postgres = find_postgres()
    try:
        url = asyncio.run(create_database(postgres))
        times: dict[str, list[float]] = {}
        for _ in range(3):
            for name, sql in {"bulk UPDATE": None, **VARIANTS}.items():
                times.setdefault(name, []).append(asyncio.run(measure(url, sql)))
                print(f"{name}: {times[name][-1]:.2f} s", flush=True)
    finally:
        postgres.stop()
    bulk = statistics.median(times["bulk UPDATE"])
    print("\n| variant | time | vs bulk UPDATE |\n|---|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} s | {bulk / statistics.median(values):.2f} |")


if __name__ == "__main__":
    main()
