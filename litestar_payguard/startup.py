"""Checks run when the application starts: a clear error or warning now rather than failed requests later."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from litestar_payguard import migrations
from litestar_payguard.exceptions import ImproperConfigurationError
from litestar_payguard.models.schema_check import missing_schema
from litestar_payguard.problems import is_infrastructure_error
from litestar_payguard.services.webhooks import SecretBox

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar import Litestar

    from litestar_payguard.runtime import PayGuard

__all__ = ("QUEUE_CHECK_TIMEOUT_SECONDS", "check_schema", "startup_checks", "warn_without_worker")

logger = logging.getLogger("litestar_payguard")

QUEUE_CHECK_TIMEOUT_SECONDS = 2.0
"""How long start-up waits for the queue to say which workers run; a backend that does not answer only warns."""


async def check_schema(payguard: PayGuard) -> None:
    """Refuse to start on a database without payguard's tables, or with an older version of them.

    Every request would otherwise fail with a 503 whose cause is only in the log. A database that cannot be
    reached is not refused: the application starts and answers 503 until it is back.

    Raises:
        ImproperConfigurationError: Tables or columns are missing; the message names them.
    """
    try:
        async with payguard.db_connection() as connection:
            report = await missing_schema(connection)
            revision = await connection.run_sync(migrations.current_of)
    except Exception as exc:
        if not is_infrastructure_error(exc):
            raise
        logger.warning("payguard: could not check the database schema at start-up: %r", exc)
        return
    latest = migrations.head()
    if revision is not None and revision != latest:
        msg = (
            f"payguard cannot start: its tables are at revision {revision}, this version needs {latest}. Run "
            "`litestar --app <module>:<app> payguard db upgrade` (or `await litestar_payguard.migrations.upgrade("
            "engine)`) first."
        )
        raise ImproperConfigurationError(msg)
    if report:
        msg = (
            f"payguard cannot start: the database lacks its schema ({report.describe()}). Run payguard's migrations "
            "(`litestar --app <module>:<app> payguard db upgrade`), or create the tables with "
            "SQLAlchemyAsyncConfig(create_all=True) for development; create_all never adds columns to an existing "
            "table."
        )
        raise ImproperConfigurationError(msg)


async def warn_without_worker(payguard: PayGuard) -> bool:
    """Log a warning when no worker runs in this application and none is seen on the queue.

    Payments and refunds are executed by workers: without one they stay ``processing`` and nothing else says so.

    Returns:
        Whether a warning was logged.
    """
    if payguard.config.run_worker_in_app:
        return False
    name = payguard.queue.name
    try:
        async with asyncio.timeout(QUEUE_CHECK_TIMEOUT_SECONDS):
            info = await payguard.queue.info()
    except Exception as exc:  # any backend error, or no answer: say so, and start anyway
        logger.warning(
            "payguard: the queue %r did not answer at start-up (%r): payments and refunds are not processed until "
            "it and a worker are up.",
            name,
            exc,
        )
        return True
    if info.get("workers"):
        return False
    logger.warning(
        "payguard: no worker runs in this application and none is running on the queue %r: payments and refunds "
        "will not be processed (they stay 'processing') until one starts. Run `litestar --app <module>:<app> "
        "payguard worker`, or set PayGuardConfig(run_worker_in_app=True) for development.",
        name,
    )
    return True


def startup_checks(payguard: PayGuard) -> Callable[[Litestar], Awaitable[None]]:
    """The ``on_startup`` hook running the checks (after every lifespan, so after the host's ``create_all``).

    It also warns once when webhook signing secrets are stored unencrypted (no ``webhook_secret_key``).
    """

    async def run(_: Litestar) -> None:
        await check_schema(payguard)
        await warn_without_worker(payguard)
        SecretBox(payguard.config.webhook_secret_key).log_plaintext_warning(logger)

    return run
