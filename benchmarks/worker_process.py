"""What a benchmark's worker process does once built: warm up, then obey the driver's commands on stdin.

Shared by ``benchmarks.payments_worker`` and ``benchmarks.webhooks_worker``. The process prints ``ready``, then
answers each command line with one JSON line on stdout:

- ``go``: start a SAQ worker, as ``litestar_payguard.jobs.worker.build_worker`` builds it, with payguard's
  functions, the empty ``noop`` job and only the cron jobs the benchmark asks for;
- ``stop``: stop that worker (running jobs finish); answers with the jobs it started, by function, and whatever
  the benchmark adds;
- ``done``: how many jobs have finished since ``go``, by function;
- ``quit``: close everything and exit.

Between ``stop`` and the next ``go`` no worker runs, so the driver can seed and enqueue without competing with
it, and the same warm process (pool, statement caches) serves every scenario.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from saq import CronJob, Worker
from sqlalchemy import text

from litestar_payguard.jobs import FUNCTIONS

if TYPE_CHECKING:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

    from litestar_payguard.runtime import PayGuard

__all__ = ("noop", "serve")


async def noop(ctx: dict[str, Any]) -> None:  # noqa: ARG001  # SAQ passes the context to every job
    """The baseline: a job that does nothing, so only the queue's own work is left."""
    return


async def serve(
    payguard: PayGuard,
    database: SQLAlchemyAsyncConfig,
    *,
    concurrency: int,
    connections: int,
    cron_jobs: Sequence[CronJob[Any]] = (),
    on_go: Callable[[], None] = lambda: None,
    on_stop: Callable[[], dict[str, Any]] = dict,
) -> None:
    """Warm ``connections`` pooled connections, then serve the driver's commands until ``quit``.

    ``on_go`` runs before each worker starts; ``on_stop`` after it stopped, and what it returns joins the answer.
    """
    # Stopping a worker cancels its idle dequeues, which SAQ reports as a warning each time.
    logging.getLogger("saq").setLevel(logging.ERROR)
    await payguard.queue.connect()

    async def warm(_: int) -> None:
        async with payguard.db_session() as db:
            await db.execute(text("SELECT 1"))
            await asyncio.sleep(0.05)  # hold the connection, so each task opens one of its own

    await asyncio.gather(*(warm(i) for i in range(connections)))

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["payguard"] = payguard  # what jobs.worker.build_worker's start-up hook does

    started: Counter[str] = Counter()
    finished: Counter[str] = Counter()

    async def before_process(ctx: dict[str, Any]) -> None:
        started[ctx["job"].function] += 1

    async def after_process(ctx: dict[str, Any]) -> None:
        finished[ctx["job"].function] += 1

    worker: Worker[Any] | None = None
    task: asyncio.Task[None] | None = None
    print("ready", flush=True)
    while True:
        command = (await asyncio.to_thread(sys.stdin.readline)).split()
        if not command or command[0] == "quit":
            break
        if command[0] == "done":
            print(json.dumps(dict(finished)), flush=True)
        elif command[0] == "go":
            started.clear()
            finished.clear()
            on_go()
            worker = Worker(
                payguard.queue,
                functions=[*FUNCTIONS, noop],
                cron_jobs=list(cron_jobs),
                concurrency=concurrency,
                startup=startup,
                before_process=before_process,
                after_process=after_process,
            )
            worker.SIGNALS = []
            task = asyncio.create_task(worker.start())
            print(json.dumps({"started": True}), flush=True)
        elif command[0] == "stop":
            assert worker is not None
            assert task is not None
            await worker.stop()
            await task
            print(json.dumps({"jobs": dict(started), **on_stop()}), flush=True)
    await payguard.close_connections()
    await payguard.queue.disconnect()
    await database.get_engine().dispose()
