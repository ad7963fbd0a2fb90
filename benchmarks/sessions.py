"""Benchmark of the session endpoints against bare Litestar endpoints on the same database.

    uv run --group dev python -m benchmarks.sessions [--seconds 10] [--rounds 3] [--connections 32]

Serves ``benchmarks.app`` with uvicorn (one process) on real Postgres and Redis, and drives it with wrk
(another process, 32 connections). Measured in the same run, alternating scenarios each round:

- ``POST /payguard/sessions`` against ``POST /bare/rows`` (one INSERT and COMMIT);
- ``GET /payguard/sessions/{id}`` against ``GET /bare/rows/{id}`` (one SELECT by primary key).

Reports requests/s, p50 and p99 latency (median over rounds) and the ratios payguard / bare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import httpx

from benchmarks import wrk
from benchmarks.app import BARE_TABLE
from benchmarks.common import RESULTS, ROOT, app_process, create_database, machine, servers

LUA = ROOT / "benchmarks" / "lua"
SCENARIOS = {
    "bare_insert": ("bare INSERT…COMMIT", "bare_insert.lua", "rows"),
    "create_session": ("POST /payguard/sessions", "create_session.lua", None),
    "bare_select": ("bare SELECT by primary key", "bare_select.lua", "rows"),
    "get_session": ("GET /payguard/sessions/{id}", "get_session.lua", "sessions"),
}
SEEDED = 2000


async def _seed(base: str, folder: Path) -> dict[str, Path]:
    """Create sessions and bare rows to read; write their ids for the Lua scripts."""
    semaphore = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def session(index: int) -> str:
            async with semaphore:
                customer = f"seed-{index}"
                response = await client.post(
                    "/payguard/sessions",
                    json={"bundleId": f"seed-{index}", "amount": 4900, "currency": "USD"},
                    headers={"X-Customer": customer},
                )
                response.raise_for_status()
                return f"{response.json()['id']},{customer}"

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
            files = asyncio.run(_seed(base, Path(tmp)))
            for name, (_, script, ids) in SCENARIOS.items():  # warm-up
                wrk.run(
                    base,
                    LUA / script,
                    connections=args.connections,
                    seconds=2,
                    env={"BENCH_IDS": str(files[ids])} if ids else None,
                )
                print(f"warmed up {name}")
            runs: dict[str, list[wrk.Result]] = {name: [] for name in SCENARIOS}
            for round_number in range(args.rounds):
                for name, (label, script, ids) in SCENARIOS.items():
                    result = wrk.run(
                        base,
                        LUA / script,
                        connections=args.connections,
                        seconds=args.seconds,
                        env={"BENCH_IDS": str(files[ids])} if ids else None,
                    )
                    if result.errors:
                        raise SystemExit(f"{label}: {result.errors} failed requests")
                    runs[name].append(result)
                    print(
                        f"round {round_number + 1} {label}: {result.requests_per_second:.0f} req/s, "
                        f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms"
                    )

    summary = {
        name: {
            "label": SCENARIOS[name][0],
            "requests_per_second": statistics.median(r.requests_per_second for r in results),
            "p50_ms": statistics.median(r.p50_ms for r in results),
            "p99_ms": statistics.median(r.p99_ms for r in results),
            "runs": [asdict(r) for r in results],
        }
        for name, results in runs.items()
    }
    ratios = {
        "create_vs_bare_insert": summary["create_session"]["requests_per_second"]
        / summary["bare_insert"]["requests_per_second"],
        "status_vs_bare_select": summary["get_session"]["requests_per_second"]
        / summary["bare_select"]["requests_per_second"],
    }
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "settings": vars(args),
        "summary": summary,
        "ratios": ratios,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"sessions-{int(time.time())}.json"
    out.write_text(json.dumps(report, indent=2))
    print("\n| endpoint | req/s | p50 ms | p99 ms |\n|---|---:|---:|---:|")
    for entry in summary.values():
        print(
            f"| {entry['label']} | {entry['requests_per_second']:.0f} | {entry['p50_ms']:.2f} | {entry['p99_ms']:.2f} |"
        )
    print(f"\ncreate / bare insert = {ratios['create_vs_bare_insert']:.2f} (target >= 0.5)")
    print(f"status / bare select = {ratios['status_vs_bare_select']:.2f} (target >= 0.8)")
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
