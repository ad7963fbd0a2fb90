"""``litestar payguard …`` commands."""

from __future__ import annotations

import asyncio

import click
from litestar import Litestar
from litestar.cli._utils import LitestarGroup

from litestar_payguard.jobs.worker import run_worker
from litestar_payguard.runtime import STATE_KEY, PayGuard

__all__ = ("payguard_group",)


@click.group(cls=LitestarGroup, name="payguard")
def payguard_group() -> None:
    """Run payguard's background workers."""


@payguard_group.command(name="worker")  # type: ignore[untyped-decorator]
@click.option("--concurrency", type=int, default=None, help="Jobs run at once (default: worker_concurrency).")
def worker_command(app: Litestar, concurrency: int | None) -> None:
    """Process payguard's jobs and cron schedule until SIGINT/SIGTERM. Start as many as you need."""
    payguard: PayGuard = app.state[STATE_KEY]  # the plugin stores it there, and adds this command
    click.echo(f"payguard worker on queue {payguard.queue.name!r}")
    asyncio.run(run_worker(payguard, concurrency=concurrency))
