"""SQLite: every transaction takes the database's write lock when it begins, so one writer runs at a time.

payguard's invariants rest on row locks (``SELECT … FOR UPDATE``: one refund admitted at a time against what is
left, one transition of a session at a time, one open payment per bundle). SQLite has no row locks and ignores
``FOR UPDATE``; on top of that, Python's ``sqlite3`` driver (and ``aiosqlite`` over it) begins a transaction only
at the first INSERT, UPDATE or DELETE, so the reads that decide a change run outside it, and two requests
decide on the same row at once (20 concurrent refunds of 500 on a payment of 1000 admitted 10).

So on a SQLite engine payguard installs SQLAlchemy's documented recipe for SQLite transactions, with ``BEGIN
IMMEDIATE``: the driver no longer begins transactions itself (``isolation_level = None``), and every transaction
begins with ``BEGIN IMMEDIATE``, which takes SQLite's write lock at once. Whatever a transaction read then stays
true until it commits, across connections and processes on the same file: the guarantees of ``FOR UPDATE`` hold,
because the whole database is locked instead of the row. Savepoints (``begin_nested``) and DDL become part of
their transaction, as they are on Postgres.

The cost is one transaction at a time, reads included. A transaction that finds the lock taken waits for it (the
busy timeout, ``connect_args={"timeout": seconds}``; :data:`BUSY_TIMEOUT_SECONDS` when the host sets none) and
fails with ``database is locked`` after it, which payguard's routes answer 503 with ``Retry-After``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import event

from litestar_payguard.exceptions import ImproperConfigurationError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Dialect
    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ("BUSY_TIMEOUT_SECONDS", "lock_on_begin")

BUSY_TIMEOUT_SECONDS = 30.0
"""How long a transaction waits for SQLite's write lock when the host set no ``timeout`` (``sqlite3`` waits 5 s):
as long as SQLAlchemy's pool lets a request wait for a connection, so a burst queues instead of failing."""

_DRIVERS = frozenset({"aiosqlite", "pysqlite"})
"""Drivers over Python's ``sqlite3``, whose transaction control the recipe replaces."""


def lock_on_begin(engine: AsyncEngine) -> bool:
    """Make every transaction of a SQLite engine begin with ``BEGIN IMMEDIATE``; nothing for another database.

    Safe to call again for the same engine. Connections the pool opened before keep working: the driver's own
    transaction control is switched off at their next transaction.

    Returns:
        Whether the engine is SQLite (and now locks on begin).

    Raises:
        ImproperConfigurationError: A SQLite driver other than ``sqlite3``'s, whose transactions payguard cannot
            control, or an engine that skips rollbacks on connections it believes in autocommit.
    """
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect
    if dialect.name != "sqlite":
        return False
    if dialect.driver not in _DRIVERS:
        msg = (
            f"payguard cannot keep its guarantees on SQLite through the {dialect.driver} driver: use "
            "sqlite+aiosqlite://, whose transactions it makes take the write lock when they begin."
        )
        raise ImproperConfigurationError(msg)
    if getattr(dialect, "skip_autocommit_rollback", False):
        # The recipe switches the driver's autocommit detection on for every connection: no rollback would run.
        msg = "payguard needs rollbacks on SQLite: create the engine without skip_autocommit_rollback."
        raise ImproperConfigurationError(msg)
    for name, listener in (("do_connect", _wait_for_the_lock), ("connect", _no_driver_transactions)):
        if not event.contains(sync_engine, name, listener):
            event.listen(sync_engine, name, listener)
    if not event.contains(sync_engine, "begin", _begin_immediate):
        event.listen(sync_engine, "begin", _begin_immediate)
    return True


def _wait_for_the_lock(_: Dialect, __: ConnectionPoolEntry, ___: Any, params: dict[str, Any]) -> None:
    """Wait for the write lock rather than fail at once; a ``timeout`` the host gave (URL, connect_args) stays."""
    params.setdefault("timeout", BUSY_TIMEOUT_SECONDS)


def _no_driver_transactions(dbapi_connection: Any, _: ConnectionPoolEntry) -> None:
    # The driver would begin its own transactions at the first write, inside the one the begin listener opened.
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Connection) -> None:
    """Begin the transaction holding the write lock (not for a connection in autocommit: ``VACUUM``, say)."""
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and dbapi_connection.isolation_level is not None:
        # Opened before the listeners were installed, or reset by SQLAlchemy after a connection in autocommit.
        dbapi_connection.isolation_level = None
    connection.exec_driver_sql("BEGIN IMMEDIATE")
