"""``litestar payguard …`` commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import prometheus_client
from litestar import Litestar
from litestar.cli._utils import LitestarGroup

from litestar_payguard import migrations
from litestar_payguard.jobs.worker import run_worker
from litestar_payguard.observability import worker_registry
from litestar_payguard.runtime import STATE_KEY, PayGuard

__all__ = ("payguard_group",)

T = TypeVar("T")


@click.group(cls=LitestarGroup, name="payguard")
def payguard_group() -> None:
    """Run payguard's background workers, and its schema migrations."""


@payguard_group.command(name="worker")  # type: ignore[untyped-decorator]
@click.option("--concurrency", type=int, default=None, help="Jobs run at once (default: worker_concurrency).")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve this process's Prometheus metrics on this port (GET /metrics); off by default.",
)
@click.option("--metrics-host", default="0.0.0.0", show_default=True, help="The address --metrics-port listens on.")  # noqa: S104
def worker_command(app: Litestar, concurrency: int | None, metrics_port: int | None, metrics_host: str) -> None:
    """Process payguard's jobs and cron schedule until SIGINT/SIGTERM. Start as many as you need."""
    payguard: PayGuard = app.state[STATE_KEY]  # the plugin stores it there, and adds this command
    click.echo(f"payguard worker on queue {payguard.queue.name!r}")
    if metrics_port is not None:
        server, _ = prometheus_client.start_http_server(metrics_port, addr=metrics_host, registry=worker_registry())
        click.echo(f"payguard worker metrics on http://{metrics_host}:{server.server_port}/metrics")
    asyncio.run(run_worker(payguard, concurrency=concurrency))


@payguard_group.group(name="db", cls=LitestarGroup)
def db_group() -> None:
    """Payguard's schema migrations (its own revisions and version table, beside the host's)."""


def _on_engine(app: Litestar, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work`` with the app's engine in one event loop, and close the engine's connections in it.

    asyncpg's connections belong to the loop that opened them: a second ``asyncio.run`` on the same pool fails.
    """
    payguard: PayGuard = app.state[STATE_KEY]
    engine = payguard.sqlalchemy_config.get_engine()

    async def run() -> T:
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _move_to(app: Litestar, move: Callable[[Any, str], Awaitable[None]], revision: str) -> None:
    """Upgrade or downgrade payguard's tables to ``revision``, then say where they are."""

    async def moved(engine: Any) -> str | None:
        await move(engine, revision)
        return await migrations.current(engine)

    click.echo(f"payguard's schema is at {_on_engine(app, moved)}")


@db_group.command(name="upgrade")  # type: ignore[untyped-decorator]
@click.argument("revision", default="head")
def upgrade_command(app: Litestar, revision: str) -> None:
    """Bring payguard's tables to REVISION (default: the latest)."""
    _move_to(app, migrations.upgrade, revision)


@db_group.command(name="downgrade")  # type: ignore[untyped-decorator]
@click.argument("revision")
def downgrade_command(app: Litestar, revision: str) -> None:
    """Take payguard's tables back to REVISION (`-- -1`: one step back); what later revisions added is dropped."""
    _move_to(app, migrations.downgrade, revision)


@db_group.command(name="current")  # type: ignore[untyped-decorator]
def current_command(app: Litestar) -> None:
    """Show the revision payguard's tables are at, and the latest one."""
    found = _on_engine(app, migrations.current)
    click.echo(f"current: {found or 'none (payguard migrations never ran here)'}; latest: {migrations.head()}")


@db_group.command(name="check")  # type: ignore[untyped-decorator]
def check_command(app: Litestar) -> None:
    """Exit 1 when payguard's tables differ from its models (what an upgrade would change, or drift)."""
    differences = _on_engine(app, migrations.check)
    for difference in differences:
        click.echo(f"differs: {difference}")
    if differences:
        raise SystemExit(1)
    click.echo("payguard's schema matches its models")
