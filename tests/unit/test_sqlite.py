"""What payguard does to a SQLite engine: every transaction holds the write lock from its start."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from litestar_payguard.sqlite import lock_on_begin


@pytest.fixture(params=["delete", "wal"])
def database(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A SQLite file in the host's journal mode (payguard leaves it as it is): a rollback journal, or WAL."""
    path = tmp_path / "locking.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute(f"PRAGMA journal_mode = {request.param}")
        connection.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        connection.execute("INSERT INTO counter VALUES (1, 0)")
    return path


@pytest.fixture
async def engine(database: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    assert lock_on_begin(engine)
    yield engine
    await engine.dispose()


def _can_write(database: Path) -> bool:
    """Whether another process could take the write lock right now (it does not wait)."""
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()
    return True


async def test_a_transaction_that_only_read_holds_the_write_lock_until_it_ends(
    engine: AsyncEngine, database: Path
) -> None:
    async with engine.connect() as connection:
        assert _can_write(database)
        await connection.scalar(text("SELECT value FROM counter"))  # what FOR UPDATE would have locked
        held = not _can_write(database)
        await connection.rollback()
        released = _can_write(database)

    assert (held, released) == (True, True)


async def test_a_savepoint_rolls_back_with_its_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.begin()
        async with connection.begin_nested():
            await connection.execute(text("UPDATE counter SET value = 1"))
        await connection.rollback()

    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT value FROM counter")) == 0


async def test_a_connection_in_autocommit_runs_outside_any_transaction(engine: AsyncEngine, database: Path) -> None:
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM"))  # refused inside a transaction
        free = _can_write(database)

    # Back in the pool, the connection locks on begin again.
    async with engine.connect() as connection:
        await connection.scalar(text("SELECT 1"))
        assert not _can_write(database)
    assert free


async def test_waiting_for_the_lock_takes_30_s_unless_the_host_said(database: Path) -> None:
    timeouts = []
    for url in (f"sqlite+aiosqlite:///{database}", f"sqlite+aiosqlite:///{database}?timeout=0.25"):
        engine = create_async_engine(url)
        lock_on_begin(engine)
        async with engine.connect() as connection:
            timeouts.append(await connection.scalar(text("PRAGMA busy_timeout")))
        await engine.dispose()

    assert timeouts == [30_000, 250]


async def test_installing_twice_or_after_connections_were_opened_begins_once(database: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    async with engine.connect() as connection:  # pooled before payguard saw the engine: the driver's own mode
        await connection.scalar(text("SELECT 1"))
    lock_on_begin(engine)
    lock_on_begin(engine)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE counter SET value = value + 1"))
            locked = not _can_write(database)
        async with engine.connect() as connection:
            value = await connection.scalar(text("SELECT value FROM counter"))
    finally:
        await engine.dispose()

    assert (locked, value) == (True, 1)


def test_other_databases_are_left_alone() -> None:
    engine = create_async_engine("postgresql+asyncpg://payguard@127.0.0.1:9/none")

    assert lock_on_begin(engine) is False
    assert not engine.sync_engine.dispatch.begin
