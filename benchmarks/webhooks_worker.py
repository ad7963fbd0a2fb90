"""One SAQ worker process delivering payguard's outbound webhooks (driven by ``benchmarks.webhooks``).

    python -m benchmarks.webhooks_worker <postgresql+asyncpg URL> <redis URL> <queue name> <concurrency> <key>

It builds its :class:`PayGuard` with the driver's configuration (:func:`bench_config`), opens its database pool
and HTTP client, prints ``ready``, then obeys one command a line on stdin, answering each with one JSON line:

- ``go``: start a SAQ worker with payguard's functions and one cron job, the webhook sweep (every second);
- ``stop``: stop it (running jobs finish); answers with the jobs it started, by function, and the calls and
  seconds of each phase of the attempts (take, send, record);
- ``done``: how many jobs have finished since ``go``, by function (the driver's empty ``noop`` jobs measure what
  SAQ alone costs per job);
- ``quit``: close everything and exit.

The other cron jobs (reconciler, cleanups) are left out so that nothing but webhook work runs.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import logging
import os
import sys
import time
from collections import Counter, defaultdict
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from saq import CronJob, Worker
from sqlalchemy import text

from benchmarks.payments_worker import noop
from litestar_payguard import PayGuardConfig
from litestar_payguard.gateways import SimulatedGateway
from litestar_payguard.jobs import FUNCTIONS
from litestar_payguard.jobs.webhooks import sweep_webhooks
from litestar_payguard.runtime import PayGuard
from litestar_payguard.services.webhooks import sweep_cron
from litestar_payguard.services.webhooks.outbound import deliver
from litestar_payguard.services.webhooks.outbound.outcome import Step
from litestar_payguard.services.webhooks.outbound.sending import AttemptSender
from litestar_payguard.services.webhooks.outbound.taking import AttemptTaker

SWEEP_SECONDS = 1.0
PROFILE = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
"""With ``BENCH_PROFILE=<file>``, the worker's time between ``go`` and ``stop`` is profiled into that file."""

TIMINGS: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
"""Calls and seconds of each phase (``take``, ``send`` per attempt, ``record`` and ``take more`` per batch of them),
collected since the last ``go``."""


def time_phases() -> None:
    """Wrap the deliverer's three phases to add up their wall-clock time (one event loop: they overlap)."""

    def timed(name: str, function: Any) -> Any:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            phase = name
            try:
                result = await function(*args, **kwargs)
                if name == "take" and isinstance(result, Step):  # no attempt: busy, not due, held by another, or done
                    phase = f"{name} (none: {getattr(result.status, 'value', None)})"
                return result
            finally:
                TIMINGS[phase][0] += 1
                TIMINGS[phase][1] += time.perf_counter() - started

        return wrapper

    AttemptTaker.take = timed("take", AttemptTaker.take)  # type: ignore[method-assign]
    AttemptSender.send = timed("send", AttemptSender.send)  # type: ignore[method-assign]
    AttemptTaker.take_more = timed("take more", AttemptTaker.take_more)  # type: ignore[method-assign]
    deliver.record_attempts = timed("record", deliver.record_attempts)  # type: ignore[attr-defined]


def bench_config(redis_url: str, queue_name: str, concurrency: int, key: str) -> PayGuardConfig:
    """The configuration both the driver and the worker use: receivers on 127.0.0.0/8, a sweep every second."""
    return PayGuardConfig(
        queue_url=redis_url,
        queue_name=queue_name,
        test_gateway=SimulatedGateway(delay_seconds=0),
        webhook_allowed_networks=("127.0.0.0/8",),
        webhook_secret_key=key,
        webhook_sweep_seconds=SWEEP_SECONDS,
        webhook_max_in_flight_per_endpoint=concurrency,
    )


async def main(database_url: str, redis_url: str, queue_name: str, concurrency: int, key: str) -> None:
    logging.getLogger("saq").setLevel(logging.ERROR)
    time_phases()
    database = SQLAlchemyAsyncConfig(connection_string=database_url, create_all=False)
    config = bench_config(redis_url, queue_name, concurrency, key)
    payguard = PayGuard(config, database)
    await payguard.queue.connect()

    async def warm(_: int) -> None:
        async with payguard.db_session() as db:
            await db.execute(text("SELECT 1"))
            await asyncio.sleep(0.05)  # hold the connection, so each task opens one of its own

    await asyncio.gather(*(warm(i) for i in range(concurrency + 1)))

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
            TIMINGS.clear()
            worker = Worker(
                payguard.queue,
                functions=[*FUNCTIONS, noop],
                cron_jobs=[CronJob(sweep_webhooks, cron=sweep_cron(SWEEP_SECONDS), timeout=60)],
                concurrency=concurrency,
                startup=startup,
                before_process=before_process,
                after_process=after_process,
            )
            worker.SIGNALS = []
            if PROFILE:
                PROFILE.enable()
            task = asyncio.create_task(worker.start())
            print(json.dumps({"started": True}), flush=True)
        elif command[0] == "stop":
            assert worker is not None
            assert task is not None
            await worker.stop()
            await task
            if PROFILE:
                PROFILE.disable()
                PROFILE.dump_stats(os.environ["BENCH_PROFILE"])
            print(json.dumps({"jobs": dict(started), "phases": dict(TIMINGS)}), flush=True)
    await payguard.close_connections()
    await payguard.queue.disconnect()
    await database.get_engine().dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))
