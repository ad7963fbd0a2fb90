"""payguard's SAQ workers: built from a :class:`PayGuard`, run in the application or on their own.

Their jobs finish when they stop (a deploy), within a grace period (:class:`DrainingWorker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from saq import Worker

from litestar_payguard.jobs import FUNCTIONS, cron_jobs
from litestar_payguard.observability import traced_job

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    from litestar import Litestar

    from litestar_payguard.runtime import PayGuard

__all__ = ("DrainingWorker", "app_lifespan", "build_worker", "run_worker")

logger = logging.getLogger("litestar_payguard.worker")
_app_logger = logging.getLogger("litestar_payguard")


class DrainingWorker(Worker[Any]):
    """SAQ's ``Worker``, stopping as a deploy expects: it takes no new job and lets the running ones finish.

    SAQ's own grace period (``shutdown_grace_period_s``) also waits for its upkeep loops, which sleep up to a
    minute, and for the tasks blocked on an empty queue, so every stop would last the whole grace. On
    :meth:`stop` this worker instead cancels at once whatever holds no job (the waits on the queue, the upkeep
    loops), waits up to ``grace_seconds`` for the jobs that are running, then lets SAQ cancel the rest: SAQ
    retries each, and a payment or refund step cancelled after its claim gives its lease back, so the next
    worker takes it up at once and asks the gateway first.

    A job taken from the queue in the instant between SAQ's dequeue and its start is cancelled with the waits,
    as SAQ's own stop does; SAQ's sweep and payguard's reconciler take it up again.

    Args:
        *args: As for SAQ's ``Worker``.
        grace_seconds: How long :meth:`stop` waits for running jobs before cancelling them.
        **kwargs: As for SAQ's ``Worker``.
    """

    def __init__(self, *args: Any, grace_seconds: float, heartbeat_seconds: float = 60.0, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"payguard": True, "host": socket.gethostname(), "pid": os.getpid()})
        # SAQ's worker info is the heartbeat: renewed every third of its life, so one missed renewal is no outage.
        kwargs["timers"] = {**(kwargs.get("timers") or {}), "worker_info": max(1, int(heartbeat_seconds / 3))}
        super().__init__(*args, **kwargs)
        self.grace_seconds = grace_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self._busy: set[asyncio.Task[Any]] = set()
        self.before_process = [self._job_started, *(self.before_process or [])]
        self.after_process = [*(self.after_process or []), self._job_ended]

    async def worker_info(self, ttl: int = 60) -> Any:  # noqa: ARG002  # the heartbeat's life is the worker's own
        """Renew this worker's heartbeat on the queue (SAQ's worker info), valid for ``heartbeat_seconds``."""
        return await super().worker_info(ttl=max(1, round(self.heartbeat_seconds)))

    async def _job_started(self, _: Any) -> None:
        # SAQ runs the hooks in the task that dequeued the job and waits for it.
        if (task := asyncio.current_task()) is not None:
            self._busy.add(task)

    async def _job_ended(self, _: Any) -> None:
        if (task := asyncio.current_task()) is not None:
            self._busy.discard(task)

    async def stop(self) -> None:
        """Take no new job, wait up to ``grace_seconds`` for the running ones, then stop as SAQ does."""
        self.event.set()  # no task starts after the ones running end
        running = {task for task in self._busy if not task.done()}
        for task in self.tasks - running:  # waits on the queue, upkeep loops: nothing to finish
            task.cancel()
        if running and self.grace_seconds > 0:
            logger.info(
                "payguard: worker stopping; waiting up to %s s for %d running jobs", self.grace_seconds, len(running)
            )
            _, pending = await asyncio.wait(running, timeout=self.grace_seconds)
            if pending:
                logger.warning(
                    "payguard: %d jobs still running after %s s; cancelling them (SAQ retries each)",
                    len(pending),
                    self.grace_seconds,
                )
        await super().stop()


def build_worker(payguard: PayGuard, *, concurrency: int | None = None, handle_signals: bool = True) -> Worker[Any]:
    """Build a SAQ worker running payguard's jobs and cron schedule, stopping gracefully (:class:`DrainingWorker`).

    Args:
        payguard: The wired core the jobs run with (``ctx["payguard"]``).
        concurrency: Jobs run at once; ``PayGuardConfig.worker_concurrency`` by default.
        handle_signals: Stop on SIGINT/SIGTERM. Off inside the application, whose server owns signals.
    """

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["payguard"] = payguard

    async def shutdown(_: dict[str, Any]) -> None:
        await payguard.close_connections()

    # Each job runs in its span, a child of the trace that enqueued it (nothing without OpenTelemetry).
    traced = {function: traced_job(function) for function in FUNCTIONS}
    worker = DrainingWorker(
        payguard.queue,
        functions=list(traced.values()),
        cron_jobs=[replace(job, function=traced[job.function]) for job in cron_jobs(payguard.config)],
        concurrency=concurrency or payguard.config.worker_concurrency,
        startup=startup,
        shutdown=shutdown,
        grace_seconds=payguard.config.worker_shutdown_grace_seconds,
        heartbeat_seconds=payguard.config.worker_heartbeat_seconds,
    )
    if not handle_signals:
        worker.SIGNALS = []
    return worker


def app_lifespan(payguard: PayGuard) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """The application's lifespan for payguard: connect the queue; run a worker in the app when configured.

    On shutdown it stops the worker, closes the workers' connections and the queue.
    """

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await payguard.queue.connect()
        worker: Worker[Any] | None = None
        task: asyncio.Task[None] | None = None
        if payguard.config.run_worker_in_app:
            worker = build_worker(payguard, handle_signals=False)
            task = asyncio.create_task(worker.start(), name="payguard-worker")
            _app_logger.info("payguard: worker running in the application process")
        try:
            yield
        finally:
            if worker is not None and task is not None:
                await worker.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await payguard.close_connections()
            await payguard.disconnect_queue()

    return lifespan


async def run_worker(payguard: PayGuard, *, concurrency: int | None = None) -> None:
    """Run a worker in this process until SIGINT/SIGTERM (``litestar payguard worker``)."""
    await payguard.queue.connect()
    try:
        await build_worker(payguard, concurrency=concurrency).start()
    finally:
        await payguard.disconnect_queue()
