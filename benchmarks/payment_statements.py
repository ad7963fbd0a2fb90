"""What Postgres spends on each step of a payment, against the cheapest durable write it could be.

Each variant runs once per payment over freshly seeded due payments, from ``--connections`` connections at once
(as several worker jobs would), each statement committed on its own as the workers' are. The figure is the CPU
time of the Postgres backends serving those connections (user + system, from ``/proc``), per statement. The
order of the variants alternates between rounds; medians of the rounds are reported.

- **plain UPDATE**: one column of the payment by primary key, no index touched, no event. The floor of a
  committed write on this machine.
- **UPDATE of an indexed column**: the same, changing ``gateway_order_id`` (what storing the order does).
- **claim**, **store order**, **record final**: the statements of
  :mod:`litestar_payguard.services.processing.fast_path_sql`, in the order a worker runs them.
- **claim / record final without the event**: the same statements without their outbox insert.

    ./scripts/uv run --group dev python -m benchmarks.payment_statements --payments 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from benchmarks.common import asyncpg_dsn, create_database, servers
from benchmarks.payments import seed
from benchmarks.payments_worker import ORDER_TABLE
from litestar_payguard.services.processing.fast_path_sql import CLAIM, RECORD_FINAL, STORE_ORDER

_EVENT = re.compile(r"\), event AS \(.*?\n        \)\n", re.DOTALL)
CLAIM_WITHOUT_EVENT = _EVENT.sub(")\n", CLAIM)
RECORD_FINAL_WITHOUT_EVENT = _EVENT.sub(")\n", RECORD_FINAL)
PLAIN = "UPDATE payguard_payment SET plan_name = 'Gold yearly' WHERE id = $1 RETURNING id"
INDEXED = "UPDATE payguard_payment SET gateway_order_id = 'order_' || id WHERE id = $1 RETURNING id"

Call = Callable[[asyncpg.Connection, Any], Awaitable[Any]]


def _cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:  # noqa: PTH123
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total


async def _per_statement(connections: list[asyncpg.Connection], pids: list[int], rows: list[Any], call: Call) -> float:
    """Backend CPU µs per statement, ``call`` run once per row, the rows dealt out to the connections."""

    async def lane(index: int) -> None:
        for row in rows[index :: len(connections)]:
            assert await call(connections[index], row) is not None, "the statement did not do its step"

    before = _cpu_ticks(pids)
    await asyncio.gather(*(lane(index) for index in range(len(connections))))
    return (_cpu_ticks(pids) - before) / os.sysconf("SC_CLK_TCK") / len(rows) * 1e6


async def _round(url: str, payments: int, width: int, *, reverse: bool) -> dict[str, float]:
    connections = [await asyncpg.connect(asyncpg_dsn(url)) for _ in range(width)]
    try:
        pids = [await connection.fetchval("SELECT pg_backend_pid()") for connection in connections]
        results: dict[str, float] = {}
        floors: list[tuple[str, str]] = [("plain UPDATE", PLAIN), ("UPDATE of an indexed column", INDEXED)]
        for label, sql in reversed(floors) if reverse else floors:
            rows = await seed(url, payments)
            results[label] = await _per_statement(
                connections, pids, rows, lambda c, r, sql=sql: c.fetchrow(sql, r["id"])
            )
        for events in (False, True) if reverse else (True, False):
            rows = await seed(url, payments)
            now = datetime.now(UTC)
            leases = {row["id"]: now + timedelta(seconds=120, microseconds=index) for index, row in enumerate(rows)}
            claim, record = (CLAIM, RECORD_FINAL) if events else (CLAIM_WITHOUT_EVENT, RECORD_FINAL_WITHOUT_EVENT)
            suffix = "" if events else " without the event"
            results[f"claim{suffix}"] = await _per_statement(
                connections,
                pids,
                rows,
                lambda c, r, sql=claim, at=now, lease=leases, traced=events: c.fetchrow(
                    sql,
                    r["id"],
                    at,
                    lease[r["id"]],
                    *([None] if traced else []),  # no trace context: untraced
                ),
            )
            if events:
                results["store order"] = await _per_statement(
                    connections, pids, rows, lambda c, r: c.fetchrow(STORE_ORDER, r["id"], f"order_{r['id']}")
                )
            results[f"record final{suffix}"] = await _per_statement(
                connections,
                pids,
                rows,
                lambda c, r, sql=record, at=now, lease=leases: c.fetchrow(
                    sql, r["id"], lease[r["id"]], "succeeded", at, f"pay_{r['id']}", None, None, None
                ),
            )
        return results
    finally:
        for connection in connections:
            await connection.close()


async def run(payments: int, rounds: int, width: int) -> dict[str, list[float]]:
    """Every variant's Postgres CPU per statement, for each round."""
    measured: dict[str, list[float]] = {}
    with servers(fast_postgres=False) as (postgres, _redis):
        url = await create_database(postgres, ORDER_TABLE)
        for index in range(rounds):
            for label, value in (await _round(url, payments, width, reverse=index % 2 == 1)).items():
                measured.setdefault(label, []).append(value)
    return measured


def main() -> None:
    """Run the variants and print a table of medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=2000, help="statements per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=10, help="connections running statements at once")
    args = parser.parse_args()
    measured = asyncio.run(run(args.payments, args.rounds, args.connections))
    print("\n| statement | Postgres CPU µs per statement (median) | rounds |\n|---|---:|---|")
    for label, values in measured.items():
        rounds = ", ".join(f"{value:.0f}" for value in values)
        print(f"| {label} | {statistics.median(values):.0f} | {rounds} |")


if __name__ == "__main__":
    main()
