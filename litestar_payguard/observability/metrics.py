"""payguard's Prometheus metrics: what they are, and when a state change counts.

A state change counts once its transaction commits: each outbox writer registers what it wrote with
:func:`count_events` on its session, and the counters move in SQLAlchemy's ``after_commit`` (a rollback drops
them). Writes that commit on their own (the processor's fast path, on a raw connection) count with
:func:`count_committed`. The metrics live in ``prometheus_client``'s default registry, beside the HTTP metrics of
Litestar's Prometheus plugin; ``litestar_payguard.metrics`` exposes them (docs/operations.md#metrics).
"""

from __future__ import annotations

from collections import Counter as Tally
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.metrics_core import Metric
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "CLEANUP_EXPIRED",
    "CLEANUP_RUNS",
    "DUE_LAG",
    "GATEWAY_CALLS",
    "GATEWAY_SECONDS",
    "IDEMPOTENCY",
    "INTERRUPTIONS",
    "PAYMENT_TRANSITIONS",
    "QUEUE_JOBS",
    "REFUNDS",
    "SESSION_EVENTS",
    "WEBHOOK_ATTEMPTS",
    "WEBHOOK_SECONDS",
    "WORKERS_SEEN",
    "count_committed",
    "count_events",
    "on_commit",
    "worker_registry",
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

PAYMENT_TRANSITIONS: Final = Counter(
    "payguard_payment_transitions",
    "Payments' state changes, by change: created, processing, succeeded, failed, cancelled, expired, "
    "partially_refunded, refunded, attention_required, attention_resolved (each payment.<change> event).",
    ["change"],
)
SESSION_EVENTS: Final = Counter(
    "payguard_session_events",
    "Checkout sessions' transitions, by event; the outcomes are completed, failed, cancelled and expired.",
    ["event"],
)
INTERRUPTIONS: Final = Counter(
    "payguard_session_interruptions", "Interrupted checkout attempts, by kind of interruption.", ["kind"]
)
REFUNDS: Final = Counter(
    "payguard_refunds", "Refunds' state changes, by change: created, processed, failed.", ["change"]
)
GATEWAY_CALLS: Final = Counter(
    "payguard_gateway_calls",
    "Calls to a payment gateway, by gateway, operation and outcome (ok, error, timeout).",
    ["gateway", "operation", "outcome"],
)
GATEWAY_SECONDS: Final = Histogram(
    "payguard_gateway_call_duration_seconds",
    "How long a gateway call took, answered or not.",
    ["gateway", "operation"],
    buckets=_LATENCY_BUCKETS,
)
WEBHOOK_ATTEMPTS: Final = Counter(
    "payguard_webhook_attempts",
    "Outbound webhook attempts, by outcome: delivered, or why it failed (http_status, timeout, connection, …).",
    ["outcome"],
)
WEBHOOK_SECONDS: Final = Histogram(
    "payguard_webhook_attempt_duration_seconds",
    "How long an outbound webhook attempt took, by outcome.",
    ["outcome"],
    buckets=_LATENCY_BUCKETS,
)
CLEANUP_RUNS: Final = Counter(
    "payguard_cleanup_runs", "Cleanup runs, by job (sessions, stale_payments) and outcome.", ["job", "outcome"]
)
CLEANUP_EXPIRED: Final = Counter(
    "payguard_cleanup_expired", "What the cleanup runs expired, by job (sessions, stale_payments).", ["job"]
)
IDEMPOTENCY: Final = Counter(
    "payguard_idempotency_requests",
    "Requests with an Idempotency-Key, by outcome: claimed, replayed, in_progress (409), key_reused (422), "
    "replay_unreadable (409).",
    ["outcome"],
)
# Read at each scrape of the API's metrics (PayGuardMetricsController), from the queue and the database.
QUEUE_JOBS: Final = Gauge(
    "payguard_queue_jobs", "Jobs waiting in payguard's SAQ queue.", ["status"], multiprocess_mode="livemostrecent"
)
DUE_LAG: Final = Gauge(
    "payguard_due_lag_seconds",
    "How long the oldest due work of each kind (payments, refunds, webhook_deliveries) has waited.",
    ["work"],
    multiprocess_mode="livemostrecent",
)
WORKERS_SEEN: Final = Gauge(
    "payguard_workers_seen", "Workers whose heartbeat is current.", multiprocess_mode="livemostrecent"
)

API_GAUGES: Final = frozenset({"payguard_queue_jobs", "payguard_due_lag_seconds", "payguard_workers_seen"})
"""The gauges only the API's scrapes read: a worker process never sets them."""


class _WithoutApiGauges:
    """What a worker's own metrics port serves: the process's registry without :data:`API_GAUGES`."""

    def collect(self) -> Iterator[Metric]:
        """Every metric of the default registry but the API's gauges (which would read 0 here)."""
        return (metric for metric in REGISTRY.collect() if metric.name not in API_GAUGES)


def worker_registry() -> CollectorRegistry:
    """The registry a ``litestar payguard worker --metrics-port`` serves (see :class:`_WithoutApiGauges`)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_WithoutApiGauges())  # a collector needs only collect()
    return registry


_PENDING = "payguard_metrics"
_SAVEPOINTS = "payguard_metrics_savepoints"
_COUNTERS: Final = {"payment": PAYMENT_TRANSITIONS, "session": SESSION_EVENTS, "refund": REFUNDS}


def _labels(event_type: str) -> Any | None:
    """The counter child an outbox event of this type moves (``payment.succeeded``), or ``None``."""
    resource, _, change = event_type.partition(".")
    counter = _COUNTERS.get(resource)
    return None if counter is None or not change else counter.labels(change)


def on_commit(db: AsyncSession, child: Any, count: int = 1) -> None:
    """Move a counter's child (``INTERRUPTIONS.labels("timeout")``) by ``count`` when ``db`` commits."""
    db.sync_session.info.setdefault(_PENDING, Tally())[child] += count


def count_events(db: AsyncSession, event_type: str, count: int = 1) -> None:
    """Count ``count`` outbox events of ``event_type`` when ``db``'s transaction commits."""
    child = _labels(event_type)
    if child is not None:
        on_commit(db, child, count)


def count_committed(event_type: str, count: int = 1) -> None:
    """Count outbox events a statement has already committed on its own connection."""
    child = _labels(event_type)
    if child is not None and count:
        child.inc(count)


# The counts wait in the session's ``info`` for the root transaction: moved when it commits, dropped when it ends
# otherwise (rolled back, or closed without a commit). A savepoint (``begin_nested``) keeps a copy of the counts
# as they stood when it began: rolling it back restores them; releasing it keeps what it added for the root.


@event.listens_for(Session, "after_transaction_create")
def _began(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_SAVEPOINTS, {})[transaction] = Tally(session.info.get(_PENDING, {}))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    released = session.get_nested_transaction()
    if released is not None:  # a savepoint released: its counts wait for the root, no copy to restore
        session.info.get(_SAVEPOINTS, {}).pop(released, None)
        return
    for child, count in session.info.pop(_PENDING, {}).items():
        child.inc(count)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:  # ended without a release: rolled back, so what it counted is dropped
        snapshot = session.info.get(_SAVEPOINTS, {}).pop(transaction, None)
        if snapshot is not None:
            session.info[_PENDING] = snapshot
    elif transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_SAVEPOINTS, None)
