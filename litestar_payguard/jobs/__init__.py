"""SAQ task functions and cron definitions. Jobs take ids, load state, call services, commit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saq import CronJob

from litestar_payguard.jobs.cleanup import expire_stale_payments
from litestar_payguard.jobs.idempotency import purge_idempotency_keys
from litestar_payguard.jobs.payments import process_payment, process_refund, reconcile
from litestar_payguard.jobs.sessions import expire_sessions
from litestar_payguard.jobs.webhooks import EVENT_PURGE_CRON, deliver_webhook, purge_events, sweep_webhooks
from litestar_payguard.services.pending import RUN_TIMEOUT_SECONDS
from litestar_payguard.services.webhooks import sweep_cron

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar_payguard.config import PayGuardConfig

__all__ = (
    "FUNCTIONS",
    "cron_jobs",
    "deliver_webhook",
    "expire_sessions",
    "expire_stale_payments",
    "process_payment",
    "process_refund",
    "purge_events",
    "purge_idempotency_keys",
    "reconcile",
    "sweep_webhooks",
)

FUNCTIONS: tuple[Callable[..., Awaitable[Any]], ...] = (
    deliver_webhook,
    expire_sessions,
    expire_stale_payments,
    process_payment,
    process_refund,
    purge_events,
    purge_idempotency_keys,
    reconcile,
    sweep_webhooks,
)
"""Every task function a payguard worker runs."""


def cron_jobs(config: PayGuardConfig) -> list[CronJob[Any]]:
    """Return the scheduled jobs; SAQ's job keys make each tick run once across all workers."""
    return [
        CronJob(expire_sessions, cron=config.session_cleanup_cron, timeout=300),
        CronJob(expire_stale_payments, cron=config.stale_cleanup_cron, timeout=RUN_TIMEOUT_SECONDS),
        CronJob(purge_idempotency_keys, cron=config.idempotency_purge_cron, timeout=600),
        CronJob(purge_events, cron=EVENT_PURGE_CRON, timeout=600),
        # Short: a worker dying mid-run keeps the fixed cron key busy (so skips the next ticks) until it times out.
        CronJob(reconcile, cron=config.reconcile_cron, timeout=30),
        CronJob(sweep_webhooks, cron=sweep_cron(config.webhook_sweep_seconds), timeout=60),
    ]
