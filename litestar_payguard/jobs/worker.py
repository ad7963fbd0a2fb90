"""A SAQ worker that lets its running jobs finish when it stops (a deploy), within a grace period."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from saq import Worker

__all__ = ("DrainingWorker",)

logger = logging.getLogger("litestar_payguard.worker")


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

    def __init__(self, *args: Any, grace_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.grace_seconds = grace_seconds
        self._busy: set[asyncio.Task[Any]] = set()
        self.before_process = [self._job_started, *(self.before_process or [])]
        self.after_process = [*(self.after_process or []), self._job_ended]

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
