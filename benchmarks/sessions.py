"""Benchmark of the session endpoints against Litestar endpoints written without payguard, on the same database.

    ./scripts/uv run --group dev python -m benchmarks.sessions [--seconds 10] [--rounds 3] [--connections 32]

Serves ``benchmarks.app`` with uvicorn (one process) on real Postgres and Redis, and drives it with wrk
(another process, 32 connections). Measured in the same run, one scenario after another in each round:

- ``POST /payguard/sessions`` against ``POST /bare/sessions``, the same work written by hand (the pending guard's
  locking query, the payment, the session, its first log entry and two outbox events in one transaction,
  through SQLAlchemy's ORM), and against ``POST /bare/rows`` (one INSERT and COMMIT);
- ``GET /payguard/sessions/{id}`` against ``GET /bare/rows/{id}`` (one SELECT by primary key).

Reports requests/s, p50 and p99 latency (median over rounds) and the ratios payguard / baseline, each computed
within a round.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import httpx

from benchmarks.app import BARE_TABLE
from benchmarks.common import Scenario, app_process, create_database, measure, report, servers

SCENARIOS = [
    Scenario("bare_insert", "bare INSERT…COMMIT", "bare_insert.lua"),
    Scenario("create_session", "POST /payguard/sessions", "create_session.lua"),
    Scenario("manual_session", "hand-written session endpoint", "create_session.lua", path="/bare/sessions"),
    Scenario("bare_select", "bare SELECT by primary key", "bare_select.lua", ids="rows"),
    Scenario("get_session", "GET /payguard/sessions/{id}", "get_session.lua", ids="sessions"),
]
SEEDED = 2000


async def seed(base: str, folder: Path, *, keyed: bool = False) -> dict[str, Path]:
    """Create sessions (under idempotency keys when ``keyed``) and bare rows; write ids for the Lua scripts."""
    semaphore = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def session(index: int) -> str:
            async with semaphore:
                customer = f"seed-{index}"
                headers = {"X-Customer": customer}
                if keyed:
                    headers["Idempotency-Key"] = f"replay-{index}"
                response = await client.post(
                    "/payguard/sessions",
                    json={"bundleId": f"seed-{index}", "amount": 4900, "currency": "USD"},
                    headers=headers,
                )
                response.raise_for_status()
                return f"{response.json()['id']},{customer},seed-{index},replay-{index}"

        async def row(_: int) -> str:
            async with semaphore:
                response = await client.post("/bare/rows")
                response.raise_for_status()
                return str(response.json()["id"])

        sessions = await asyncio.gather(*(session(i) for i in range(SEEDED)))
        rows = await asyncio.gather(*(row(i) for i in range(SEEDED)))
    files = {"sessions": folder / "sessions.txt", "rows": folder / "rows.txt"}
    files["sessions"].write_text("\n".join(sessions) + "\n")
    files["rows"].write_text("\n".join(rows) + "\n")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--fast-postgres", action="store_true", help="fsync=off, synchronous_commit=off")
    args = parser.parse_args()

    with servers(fast_postgres=args.fast_postgres) as (postgres, redis), tempfile.TemporaryDirectory() as tmp:
        database_url = asyncio.run(create_database(postgres, BARE_TABLE))
        env = {"BENCH_DATABASE_URL": database_url, "BENCH_REDIS_URL": redis.url}
        with app_process("benchmarks.app:create_app", env, "/payguard/sessions/none") as base:
            files = asyncio.run(seed(base, Path(tmp)))
            summary = measure(
                SCENARIOS,
                {"main": base},
                files,
                rounds=args.rounds,
                seconds=args.seconds,
                connections=args.connections,
            )
    report(
        "sessions",
        summary,
        {
            "create / hand-written": ("create_session", "manual_session", 0.8),
            "create / bare insert": ("create_session", "bare_insert", None),
            "hand-written / bare insert": ("manual_session", "bare_insert", None),
            "status / bare select": ("get_session", "bare_select", 0.8),
        },
        vars(args),
    )


if __name__ == "__main__":
    main()
