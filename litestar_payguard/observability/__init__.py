"""What payguard tells operators about itself: Prometheus metrics and OpenTelemetry spans, from one place.

Services call these helpers at the few points where something worth counting happens; the definitions are in
:mod:`.metrics` and :mod:`.spans`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx

from litestar_payguard.observability import metrics
from litestar_payguard.observability.metrics import count_committed, count_events, on_commit, worker_registry
from litestar_payguard.observability.spans import TRACE_META, carrier, span, stored_trace, trace_json, traced_job

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "TRACE_META",
    "carrier",
    "count_cleanup_run",
    "count_committed",
    "count_events",
    "count_interruption",
    "gateway_call",
    "idempotency_outcome",
    "metrics",
    "on_commit",
    "set_lags",
    "set_queue_levels",
    "span",
    "stored_trace",
    "trace_json",
    "traced_job",
    "webhook_attempt",
    "worker_registry",
)


@contextmanager
def gateway_call(gateway: str, operation: str) -> Iterator[None]:
    """Time, count and trace one call to a gateway (``operation``: create_order, charge, fetch_status, refund).

    The outcome is ``ok`` when the adapter answered, ``timeout`` when a deadline passed (payguard's, or the
    adapter's own HTTP timeout it wrapped in its error), ``cancelled`` when the job was stopped, ``error`` otherwise.
    """
    started = time.perf_counter()
    outcome = "error"
    try:
        with span(f"payguard.gateway {operation}", {"payguard.gateway": gateway}, kind="CLIENT"):
            yield
        outcome = "ok"
    except BaseException as exc:
        outcome = _failure(exc)
        raise
    finally:
        metrics.GATEWAY_CALLS.labels(gateway, operation, outcome).inc()
        metrics.GATEWAY_SECONDS.labels(gateway, operation).observe(time.perf_counter() - started)


def _failure(exc: BaseException) -> str:
    """How a gateway call failed: ``timeout``, ``cancelled`` or ``error``, looking through wrapped causes."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError | httpx.TimeoutException):
            return "timeout"
        seen = seen.__cause__
    return "error"


def count_interruption(db: AsyncSession, kind: str) -> None:
    """Count an interrupted checkout attempt of this kind (``timeout``, ``network``…) when ``db`` commits."""
    on_commit(db, metrics.INTERRUPTIONS.labels(kind))


def set_queue_levels(*, queued: int, workers: int) -> None:
    """Set the queue's depth and the count of workers heard from (read at a scrape)."""
    metrics.QUEUE_JOBS.labels("queued").set(queued)
    metrics.WORKERS_SEEN.set(workers)


def set_lags(lags: Mapping[str, float | None]) -> None:
    """Set how long the oldest due work of each kind has waited (``None``: nothing due, a lag of 0)."""
    for work, lag in lags.items():
        metrics.DUE_LAG.labels(work).set(lag or 0.0)


def webhook_attempt(outcome: str, seconds: float) -> None:
    """Count one outbound webhook attempt (``delivered``, or why it failed) and how long it took."""
    metrics.WEBHOOK_ATTEMPTS.labels(outcome).inc()
    metrics.WEBHOOK_SECONDS.labels(outcome).observe(seconds)


def count_cleanup_run(job: str, outcome: str, expired: int) -> None:
    """Count one finished cleanup run of ``job`` (``sessions``, ``stale_payments``) and what it expired."""
    metrics.CLEANUP_RUNS.labels(job, outcome).inc()
    if expired:
        metrics.CLEANUP_EXPIRED.labels(job).inc(expired)


def idempotency_outcome(outcome: str) -> None:
    """Count a keyed request: ``claimed``, ``replayed``, ``in_progress``, ``key_reused`` or ``replay_unreadable``."""
    metrics.IDEMPOTENCY.labels(outcome).inc()
