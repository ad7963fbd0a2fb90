"""Readiness: the database, payguard's schema, the queue, a worker's heartbeat and the oldest due work's lag.

Each check has its own deadline and reports its own failure: a database that does not answer is a ``fail``, never a
traceback, and the other checks still run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text

from litestar_payguard.models import DeliveryStatus, Payment, Refund, WebhookDelivery
from litestar_payguard.models.schema_check import missing_schema
from litestar_payguard.observability import set_lags, set_queue_levels
from litestar_payguard.schemas.health import HealthCheck, Readiness, WorkerSeen

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from saq import Queue
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("CHECK_TIMEOUT_SECONDS", "HealthService")

logger = logging.getLogger("litestar_payguard.health")

CHECK_TIMEOUT_SECONDS = 2.0
"""Each check's deadline: a probe must answer quickly, whatever hangs."""


def _ok(detail: str, value: float | None = None) -> HealthCheck:
    return HealthCheck(status="ok", detail=detail, value=value)


def _fail(detail: str, value: float | None = None) -> HealthCheck:
    return HealthCheck(status="fail", detail=detail, value=value)


class HealthService:
    """Checks what payguard needs to take payments.

    Args:
        db: A database session (the request's).
        config: payguard's configuration.
        queue: payguard's SAQ queue.
    """

    __slots__ = ("_config", "_db", "_queue", "_seen")

    def __init__(self, db: AsyncSession, config: PayGuardConfig, queue: Queue) -> None:
        self._db = db
        self._config = config
        self._queue = queue
        self._seen: list[WorkerSeen] | None = None

    async def readiness(self) -> Readiness:
        """Every check; ``ready`` only when each is ``ok``."""
        checks: dict[str, Callable[[], Awaitable[HealthCheck]]] = {
            "database": self._database,
            "schema": self._schema,
            "queue": self._queue_depth,
            "workers": self._workers,
            "lag": self._lag,
        }
        results = {}
        for name, check in checks.items():
            results[name] = await _bounded(name, check)
            if results[name].status != "ok":
                with suppress(Exception):  # a failed statement leaves the transaction aborted for the next check
                    await self._db.rollback()
        ready = all(result.status == "ok" for result in results.values())
        return Readiness(status="ready" if ready else "not_ready", checks=results)

    async def workers(self) -> list[WorkerSeen]:
        """The workers whose heartbeat is current (SAQ's worker info, renewed by each worker).

        Asked of the queue once per service (a request): the readiness check and a page listing them share it.
        """
        if self._seen is not None:
            return self._seen
        info = await self._queue.info()
        seen = []
        for worker_id, worker in (info.get("workers") or {}).items():
            if not isinstance(worker, dict):
                continue
            metadata: dict[str, Any] = worker.get("metadata") or {}
            stats: dict[str, Any] = dict(worker.get("stats") or {})
            uptime = stats.get("uptime")
            seen.append(
                WorkerSeen(
                    id=str(worker_id),
                    host=metadata.get("host"),
                    pid=metadata.get("pid"),
                    uptime_seconds=None if uptime is None else float(uptime) / 1000,
                    jobs_done=stats.get("complete"),
                    jobs_failed=stats.get("failed"),
                )
            )
        self._seen = sorted(seen, key=lambda worker: worker.id)
        return self._seen

    async def _database(self) -> HealthCheck:
        started = time.perf_counter()
        await self._db.execute(text("SELECT 1"))
        return _ok("answers", round((time.perf_counter() - started) * 1000, 1))

    async def _schema(self) -> HealthCheck:
        connection = await self._db.connection()
        report = await missing_schema(connection)
        if report:
            missing = [*report.tables, *report.columns, *report.constraints]
            return _fail(f"the database lacks {', '.join(missing[:5])}: run payguard's migrations", len(missing))
        return _ok("current")

    async def _queue_depth(self) -> HealthCheck:
        queued = await self._queue.count("queued")
        return _ok(f"{queued} jobs queued", queued)

    async def _workers(self) -> HealthCheck:
        seen = await self.workers()
        if self._config.run_worker_in_app and not seen:
            return _fail("the worker in this application has not reported yet", 0)
        if not seen:
            window = self._config.worker_heartbeat_seconds
            return _fail(f"no worker heard from in the last {window:g} s: payments wait", 0)
        return _ok(f"{len(seen)} worker(s) heard from", len(seen))

    async def lags(self) -> dict[str, float | None]:
        """How long the oldest due work of each kind has waited, in seconds; ``None`` when none is due."""
        now = self._config.clock.now()
        due = {
            "payments": select(func.min(Payment.process_at)).where(Payment.process_at <= now),
            "refunds": select(func.min(Refund.process_at)).where(Refund.process_at <= now),
            "webhook_deliveries": select(func.min(WebhookDelivery.next_attempt_at)).where(
                WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now
            ),
        }
        lags: dict[str, float | None] = {}
        for work, statement in due.items():
            oldest: datetime | None = await self._db.scalar(statement)
            lags[work] = None if oldest is None else max(0.0, (now - oldest).total_seconds())
        return lags

    async def refresh_gauges(self) -> None:
        """Read the queue's depth, the work's lag and the workers heard from into the Prometheus gauges.

        A scrape must answer even when the database or the queue does not: a reading that fails within its
        deadline leaves its gauges as they were, and the failure is the readiness probe's to report.
        """
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                set_queue_levels(queued=await self._queue.count("queued"), workers=len(await self.workers()))
        except Exception as exc:  # the queue is down or hangs: /ready says so
            logger.debug("payguard: metrics: the queue gave no reading: %r", exc)
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                set_lags(await self.lags())
        except Exception as exc:  # the database is down or hangs: /ready says so
            logger.debug("payguard: metrics: the database gave no reading: %r", exc)
            with suppress(Exception):  # a failed statement leaves the transaction aborted
                await self._db.rollback()

    async def _lag(self) -> HealthCheck:
        lags = [lag for lag in (await self.lags()).values() if lag is not None]
        if not lags:
            return _ok("nothing due", 0.0)
        lag, limit = max(lags), self._config.ready_max_lag_seconds
        if lag > limit:
            return _fail(f"work has been due for {lag:.0f} s (more than {limit:g} s): the workers are behind", lag)
        return _ok(f"the oldest due work waits {lag:.1f} s", round(lag, 1))


async def _bounded(name: str, check: Callable[[], Awaitable[HealthCheck]]) -> HealthCheck:
    """Run one check within its deadline; any failure is the check's ``fail``, with what went wrong."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await check()
    except TimeoutError:
        return _fail(f"{name} did not answer within {CHECK_TIMEOUT_SECONDS:g} s")
    except Exception as exc:  # a probe reports any failure as the check's, never raises
        return _fail(f"{type(exc).__name__}: {str(exc)[:200]}")
