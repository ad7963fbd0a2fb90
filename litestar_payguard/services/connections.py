"""Driver connections of the host's engine, kept apart from its pool for payguard's hand-written statements.

A worker's usual steps (claim a payment, record an outcome, record a batch of webhook attempts) are single
statements sent through asyncpg (:mod:`~litestar_payguard.services.processing.fast_path`,
:mod:`~litestar_payguard.services.webhooks.outbound.fast_path`). Taking a connection from SQLAlchemy's pool and
giving it back cost more than such a statement (about 200 µs of CPU here, asyncpg's own pool about 60 µs), so
they run on connections of their own: each is opened by the engine's pool, so the host's URL, connect arguments
and pool events apply, then detached from it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import asyncpg
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = (
    "STATEMENT_TIMEOUT_SECONDS",
    "CommitUnknownError",
    "DetachedConnections",
    "Rollback",
    "is_asyncpg_postgres",
)

STATEMENT_TIMEOUT_SECONDS = 15.0
"""A statement that has not answered by then is abandoned (its connection dropped) and its step takes the ORM
path: a connection half-open after a failover must not hold up every step of the worker."""


class Rollback(Exception):  # noqa: N818 - an instruction, not an error
    """Raised in :meth:`DetachedConnections.transaction` to roll it back and keep its connection."""


class CommitUnknownError(Exception):
    """A transaction's ``COMMIT`` was sent and no answer came back: it may or may not have committed."""


def is_asyncpg_postgres(engine: AsyncEngine) -> bool:
    """Whether the engine is Postgres through asyncpg, the only one the hand-written statements are for."""
    return (engine.dialect.name, engine.dialect.driver) == ("postgresql", "asyncpg")


class DetachedConnections:
    """Idle driver connections of the engine, each used by one statement at a time.

    A connection a statement failed on (an error, a timeout, a cancelled job) is dropped, whatever state the
    failure left it in; the others are closed by :meth:`close`.

    Args:
        engine: The host's engine (Postgres through asyncpg).
    """

    __slots__ = ("_closed", "_engine", "_idle")

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._idle: list[asyncpg.Connection] = []
        self._closed = False

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """Run one statement on its own (Postgres commits it); its rows."""
        connection = await self._take()
        try:
            rows: list[Any] = await connection.fetch(sql, *args, timeout=STATEMENT_TIMEOUT_SECONDS)
        except BaseException:  # do not reuse what it left behind
            connection.terminate()
            raise
        await self._give_back(connection)
        return rows

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a transaction, committed when the block ends.

        Nothing is committed if the block raises: rolled back on :class:`Rollback`, the connection dropped on
        anything else. Each statement should be given ``STATEMENT_TIMEOUT_SECONDS``; ``BEGIN`` and ``COMMIT`` get
        it here.

        Raises:
            CommitUnknownError: ``COMMIT`` was sent and no answer came back: the transaction may have committed.
        """
        connection = await self._take()
        # Pinned, whatever the server's default: each statement then sees what committed before it started.
        transaction = connection.transaction(isolation="read_committed")
        try:
            await asyncio.wait_for(transaction.start(), STATEMENT_TIMEOUT_SECONDS)
            yield connection
        except Rollback:
            await self._roll_back(connection, transaction)
            raise
        except BaseException:  # the server rolls back what the dropped connection had begun
            connection.terminate()
            raise
        try:
            await asyncio.wait_for(transaction.commit(), STATEMENT_TIMEOUT_SECONDS)
        except asyncio.CancelledError:
            connection.terminate()
            raise
        except Exception as exc:
            connection.terminate()
            raise CommitUnknownError from exc
        await self._give_back(connection)

    async def close(self) -> None:
        """Close the idle connections (a worker or application stopping); one in use closes when its statement ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await connection.close(timeout=5)
            except Exception:  # gone already, or not answering: drop it
                connection.terminate()

    async def _roll_back(self, connection: asyncpg.Connection, transaction: Any) -> None:
        try:
            await asyncio.wait_for(transaction.rollback(), STATEMENT_TIMEOUT_SECONDS)
        except BaseException:
            connection.terminate()
            raise
        await self._give_back(connection)

    async def _give_back(self, connection: asyncpg.Connection) -> None:
        if not self._closed:
            self._idle.append(connection)
            return
        try:  # closed meanwhile: the statement's work is done, and closing must not make it look failed
            await connection.close(timeout=5)
        except Exception:
            connection.terminate()

    async def _take(self) -> asyncpg.Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():  # the server may have closed an idle one
                return connection
        return await self._open()

    async def _open(self) -> asyncpg.Connection:
        """A new connection, opened by the engine's pool (the host's settings and events apply), detached from it."""
        pooled = await self._engine.raw_connection()
        connection: asyncpg.Connection = pooled.driver_connection
        pooled.detach()
        if connection.is_in_transaction():
            # A host's pool event ran SQL through SQLAlchemy (``SET search_path``, say), which began a transaction
            # that the connection's first use would have committed. Commit it, or every statement would run
            # inside it and never be seen by anyone else.
            await connection.execute("COMMIT")
        return connection
