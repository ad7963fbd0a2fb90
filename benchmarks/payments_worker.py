"""One SAQ worker process running payguard's jobs and a no-op job (driven by ``benchmarks.payments``).

    python -m benchmarks.payments_worker <postgresql+asyncpg URL> <redis URL> <queue name> <concurrency> [hook]

The process imports everything, connects the queue and opens its database pool, then prints ``ready`` and
obeys one command a line on stdin, answering each with one JSON line on stdout:

- ``go``: start a SAQ worker (payguard's functions and ``noop``, no cron jobs, the given concurrency);
- ``stop``: stop that worker; answers with the jobs it started;
- ``quit``: close everything and exit.

Between ``stop`` and the next ``go`` no worker runs, so the driver can seed and enqueue without competing with
the workers, and the same warm processes (pool, statement caches) serve every scenario.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections import Counter
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from saq import Worker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from litestar_payguard import PayGuardConfig
from litestar_payguard.gateways import SimulatedGateway
from litestar_payguard.jobs import FUNCTIONS
from litestar_payguard.models import Payment
from litestar_payguard.runtime import PayGuard


async def noop(ctx: dict[str, Any]) -> None:  # noqa: ARG001  # SAQ passes the context to every job
    """The baseline: a job that does nothing, so only the queue's own work is left."""
    return


async def fulfil(payment: Payment, db: AsyncSession) -> None:
    """A host's fulfilment hook at its smallest: one order row, in the transaction that records the success."""
    await db.execute(ORDER, {"payment_id": payment.id, "amount": payment.amount})


ORDER = text("INSERT INTO bench_order (payment_id, amount) VALUES (:payment_id, :amount)")
ORDER_TABLE = "CREATE TABLE bench_order (payment_id uuid PRIMARY KEY, amount bigint NOT NULL)"
"""Created by the driver when it benchmarks with the hook (``--hook``)."""


async def main(database_url: str, redis_url: str, queue_name: str, concurrency: int, *, hook: bool) -> None:
    # Stopping a worker cancels its idle dequeues, which SAQ reports as a warning each time.
    logging.getLogger("saq").setLevel(logging.ERROR)
    database = SQLAlchemyAsyncConfig(connection_string=database_url, create_all=False)
    config = PayGuardConfig(
        queue_url=redis_url,
        queue_name=queue_name,
        test_gateway=SimulatedGateway(delay_seconds=0),
        on_payment_succeeded=fulfil if hook else None,
    )
    payguard = PayGuard(config, database)
    await payguard.queue.connect()

    async def warm(_: int) -> None:
        async with payguard.db_session() as db:
            await db.execute(text("SELECT 1"))
            await asyncio.sleep(0.05)  # hold the connection, so each task opens one of its own

    await asyncio.gather(*(warm(i) for i in range(concurrency)))

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["payguard"] = payguard  # what jobs.worker.build_worker's start-up hook does

    started: Counter[str] = Counter()

    async def before_process(ctx: dict[str, Any]) -> None:
        started[ctx["job"].function] += 1

    worker: Worker[Any] | None = None
    task: asyncio.Task[None] | None = None
    print("ready", flush=True)
    while True:
        command = (await asyncio.to_thread(sys.stdin.readline)).split()
        if not command or command[0] == "quit":
            break
        if command[0] == "go":
            started.clear()
            # As jobs.worker.build_worker builds it, without the cron jobs (the reconciler would add its own work).
            worker = Worker(
                payguard.queue,
                functions=[*FUNCTIONS, noop],
                concurrency=concurrency,
                startup=startup,
                before_process=before_process,
            )
            worker.SIGNALS = []
            task = asyncio.create_task(worker.start())
            print(json.dumps({"started": True}), flush=True)
        elif command[0] == "stop":
            assert worker is not None
            assert task is not None
            await worker.stop()
            await task
            print(json.dumps({"jobs": dict(started)}), flush=True)
    await payguard.close_connections()
    await payguard.queue.disconnect()
    await database.get_engine().dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), hook=sys.argv[5:] == ["hook"]))
