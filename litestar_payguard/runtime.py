"""The wired core of payguard.

Configuration, database access, queue, principals and the payment processor, shared by the plugin, the jobs
and the CLI. The workers that run the jobs are built in :mod:`litestar_payguard.jobs.worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, cast

import httpx  # the client's type, kept in a slot
from saq import Queue

from litestar_payguard.exceptions import ImproperConfigurationError
from litestar_payguard.identity import PrincipalResolver
from litestar_payguard.services.processing import PaymentProcessor, PaymentStatements
from litestar_payguard.services.webhooks import DeliveryStatements, SecretBox, WebhookDeliverer, make_client
from litestar_payguard.sqlite import lock_on_begin

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar.types import Scope
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("STATE_KEY", "PayGuard", "payguard_of")

STATE_KEY = "payguard"
"""Key of the wired :class:`PayGuard` in the application's state."""

logger = logging.getLogger("litestar_payguard")


class PayGuard:
    """payguard as configured for one application.

    Args:
        config: The plugin configuration.
        sqlalchemy_config: The host's advanced-alchemy config; its engine is the only one payguard uses.
    """

    __slots__ = (
        "_delivery_statements",
        "_owns_queue",
        "_statements",
        "_statements_known",
        "_webhook_client",
        "config",
        "principals",
        "queue",
        "sqlalchemy_config",
    )

    def __init__(self, config: PayGuardConfig, sqlalchemy_config: SQLAlchemyAsyncConfig) -> None:
        self.config = config
        self.sqlalchemy_config = sqlalchemy_config
        self._owns_queue = config.queue is None
        if config.queue is not None:
            self.queue: Queue = config.queue
        else:
            assert config.queue_url is not None
            self.queue = Queue.from_url(config.queue_url, name=config.queue_name)
        self.principals = PrincipalResolver(config, sqlalchemy_config)
        # Before anything uses the engine: on SQLite, what payguard reads under FOR UPDATE must stay as read.
        lock_on_begin(sqlalchemy_config.get_engine())
        self._statements: PaymentStatements | None = None
        self._delivery_statements: DeliveryStatements | None = None
        self._statements_known = False  # the engine is the host's, and made when first needed
        self._webhook_client: httpx.AsyncClient | None = None

    @contextlib.asynccontextmanager
    async def db_session(self) -> AsyncIterator[AsyncSession]:
        """Open a session on the host's engine, for work outside a request (jobs, start-up)."""
        async with self.sqlalchemy_config.get_session() as session:
            yield session

    @contextlib.asynccontextmanager
    async def db_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the host's engine in a transaction committed on exit (short, Core-only work)."""
        async with self.sqlalchemy_config.get_engine().begin() as connection:
            yield connection

    @property
    def payment_statements(self) -> PaymentStatements | None:
        """The payment steps as single statements, shared by this process's jobs; ``None`` unless Postgres (asyncpg)."""
        self._make_statements()
        return self._statements

    @property
    def delivery_statements(self) -> DeliveryStatements | None:
        """The webhook runs' batch step as one statement, shared by this process's jobs; ``None`` unless Postgres."""
        self._make_statements()
        return self._delivery_statements

    def _make_statements(self) -> None:
        if not self._statements_known:
            engine = self.sqlalchemy_config.get_engine()
            self._statements = PaymentStatements.for_engine(engine, self.config)
            self._delivery_statements = DeliveryStatements.for_engine(engine, self.config)
            self._statements_known = True

    def payment_processor(self) -> PaymentProcessor:
        """The payment processor the workers run: its usual steps as single statements on Postgres (asyncpg)."""
        return PaymentProcessor(self.config, self.db_session, self.payment_statements)

    def webhook_deliverer(self) -> WebhookDeliverer:
        """The webhook deliverer the workers run, on this process's one HTTP client for webhooks."""
        if self._webhook_client is None:
            self._webhook_client = make_client(timeout=self.config.webhook_timeout_seconds)
        box = SecretBox(self.config.webhook_secret_key)
        return WebhookDeliverer(
            self.config,
            self.db_session,
            self._webhook_client,
            box,
            resolver=self.config.webhook_resolver,
            statements=self.delivery_statements,
        )

    async def close_connections(self) -> None:
        """Close the connections payguard's workers opened besides the engine's pool: statements, webhook client."""
        statements = (self._statements, self._delivery_statements)
        self._statements, self._delivery_statements, self._statements_known = None, None, False
        for kind in statements:
            if kind is not None:
                await kind.close()
        client, self._webhook_client = self._webhook_client, None
        if client is not None:
            await client.aclose()

    async def disconnect_queue(self) -> None:
        """Close the queue payguard opened; an unreachable backend must not turn shutdown into a crash."""
        if not self._owns_queue:
            return
        try:
            async with asyncio.timeout(DISCONNECT_TIMEOUT_SECONDS):  # a Redis that stopped answering
                await self.queue.disconnect()
        except Exception as exc:  # any backend error, or no answer: the process is stopping anyway
            logger.warning("payguard: closing the queue failed during shutdown: %r", exc)


DISCONNECT_TIMEOUT_SECONDS = 5.0
"""How long closing the queue may take when the application or a worker stops."""


def payguard_of(scope: Scope) -> PayGuard:
    """Return the :class:`PayGuard` of the application serving this connection.

    Raises:
        ImproperConfigurationError: The application has no PayGuardPlugin.
    """
    payguard = scope["litestar_app"].state.get(STATE_KEY)
    if payguard is None:
        msg = "payguard's middleware needs PayGuardPlugin in the application's plugins."
        raise ImproperConfigurationError(msg)
    return cast("PayGuard", payguard)
