"""Benchmark of the Idempotency-Key middleware, on real Postgres, in one run.

    ./scripts/uv run --group dev --group bench python -m benchmarks.idempotency [--seconds 10] [--rounds 3]

Two uvicorn processes serve ``benchmarks.app``: one as is, one wrapped in ``asgi-idempotency-header``
(in-memory backend, keyed by ``X-Aih-Key``). wrk (32 connections) drives, alternating each round:

- ``POST /payguard/sessions`` without a key, and with a fresh ``Idempotency-Key`` (target >= 0.7);
- a replay of a completed key, against the bare ``GET /bare/rows/{id}`` (target >= 0.8);
- on the wrapped app: the same ``POST`` without a key and with a fresh ``X-Aih-Key``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from benchmarks.app import BARE_TABLE
from benchmarks.common import Scenario, app_process, create_database, measure, report, servers
from benchmarks.sessions import seed

SCENARIOS = [
    Scenario("create_no_key", "POST /payguard/sessions, no key", "create_session.lua"),
    Scenario("create_fresh_key", "POST /payguard/sessions, fresh Idempotency-Key", "create_session_keyed.lua"),
    Scenario("replay", "POST /payguard/sessions, replayed key", "replay_session.lua", ids="sessions"),
    Scenario("bare_select", "bare SELECT by primary key", "bare_select.lua", ids="rows"),
    Scenario("aih_no_key", "asgi-idempotency-header app: POST, no key", "create_session.lua", app="aih"),
    Scenario("aih_fresh_key", "asgi-idempotency-header app: POST, fresh key", "create_session_aih.lua", app="aih"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    with servers(fast_postgres=False) as (postgres, redis), tempfile.TemporaryDirectory() as tmp:
        database_url = asyncio.run(create_database(postgres, BARE_TABLE))
        env = {"BENCH_DATABASE_URL": database_url, "BENCH_REDIS_URL": redis.url}
        with (
            app_process("benchmarks.app:create_app", env, "/payguard/sessions/none") as main_base,
            app_process(
                "benchmarks.app:create_app_with_asgi_idempotency_header", env, "/payguard/sessions/none"
            ) as aih,
        ):
            files = asyncio.run(seed(main_base, Path(tmp), keyed=True))
            summary = measure(
                SCENARIOS,
                {"main": main_base, "aih": aih},
                files,
                rounds=args.rounds,
                seconds=args.seconds,
                connections=args.connections,
            )
    report(
        "idempotency",
        summary,
        {
            "fresh key / no key": ("create_fresh_key", "create_no_key", 0.7),
            "replay / bare select": ("replay", "bare_select", 0.8),
            "asgi-idempotency-header: fresh key / no key": ("aih_fresh_key", "aih_no_key", None),
        },
        vars(args),
    )


if __name__ == "__main__":
    main()
