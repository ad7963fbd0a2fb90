"""One SAQ worker process delivering payguard's outbound webhooks (driven by ``benchmarks.webhooks``).

    python -m benchmarks.webhooks_worker <postgresql+asyncpg URL> <redis URL> <queue name> <concurrency> <key>

It builds its :class:`PayGuard` with the driver's configuration (:func:`bench_config`), then obeys the driver's
commands (:mod:`benchmarks.worker_process`): a SAQ worker with payguard's functions and one cron job, the webhook
sweep (every second); the other cron jobs (reconciler, cleanups) are left out so that nothing but webhook work
runs. ``stop`` also answers with the calls and seconds of each phase of the attempts (take, send, record), and
``done`` counts the driver's empty ``noop`` jobs (what SAQ alone costs per job).
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import sys
import time
from collections import defaultdict
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from saq import CronJob

from benchmarks.worker_process import serve
from litestar_payguard import PayGuardConfig
from litestar_payguard.gateways import SimulatedGateway
from litestar_payguard.jobs.webhooks import sweep_webhooks
from litestar_payguard.runtime import PayGuard
from litestar_payguard.services.webhooks import DeliveryStatements, sweep_cron
from litestar_payguard.services.webhooks.outbound import deliver
from litestar_payguard.services.webhooks.outbound.outcome import Step
from litestar_payguard.services.webhooks.outbound.sending import AttemptSender
from litestar_payguard.services.webhooks.outbound.taking import AttemptTaker

SWEEP_SECONDS = 1.0
PROFILE = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
"""With ``BENCH_PROFILE=<file>``, the worker's time between ``go`` and ``stop`` is profiled into that file."""

TIMINGS: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
"""Calls and seconds of each phase (``take``, ``send`` per attempt, ``record`` and ``take more`` per batch of them, or
both in one statement), collected since the last ``go``."""


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
    DeliveryStatements.record_delivered = timed(  # type: ignore[method-assign]
        "record and take more (two statements)", DeliveryStatements.record_delivered
    )
    DeliveryStatements.take_due = timed("take (two statements)", DeliveryStatements.take_due)  # type: ignore[method-assign]


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
    time_phases()
    database = SQLAlchemyAsyncConfig(connection_string=database_url, create_all=False)
    payguard = PayGuard(bench_config(redis_url, queue_name, concurrency, key), database)

    def go() -> None:
        TIMINGS.clear()
        if PROFILE:
            PROFILE.enable()

    def stopped() -> dict[str, Any]:
        if PROFILE:
            PROFILE.disable()
            PROFILE.dump_stats(os.environ["BENCH_PROFILE"])
        return {"phases": dict(TIMINGS)}

    sweep = CronJob(sweep_webhooks, cron=sweep_cron(SWEEP_SECONDS), timeout=60)
    await serve(
        payguard,
        database,
        concurrency=concurrency,
        connections=concurrency + 1,
        cron_jobs=[sweep],
        on_go=go,
        on_stop=stopped,
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))
