"""Real servers for the integration and end-to-end tests, found once per run by litestar_payguard.testing.servers."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from litestar_payguard.models import PayGuardModel
from litestar_payguard.testing.servers import FAST_POSTGRES_SETTINGS, Server, find_postgres, find_redis
from tests.support import Store

TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if TESTS / "integration" in path.parents:
            item.add_marker(pytest.mark.integration)
        elif TESTS / "e2e" in path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    server = find_postgres(settings=FAST_POSTGRES_SETTINGS)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Server]:
    server = find_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def database_url(postgres_server: Server) -> AsyncIterator[str]:
    """A database of this run's own, with payguard's tables; ``postgresql+asyncpg://`` form."""
    name = f"payguard_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(postgres_server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(postgres_server.url)
    url = urlunsplit(parts._replace(scheme="postgresql+asyncpg", path=f"/{name}"))
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(PayGuardModel.metadata.create_all)
    await engine.dispose()
    yield url
    admin = await asyncpg.connect(postgres_server.url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine for the tests' own assertions on stored state."""
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def postgres_store(engine: AsyncEngine) -> Store:
    """Empty payguard's tables before the test, and give it a way to read them."""
    tables = ", ".join(table.name for table in PayGuardModel.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    return Store(engine)


@pytest.fixture
def store(postgres_store: Store) -> Store:
    """The stored state of the test's database: Postgres (an integration test may run on SQLite instead)."""
    return postgres_store


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file of the test's own, with payguard's tables; ``sqlite+aiosqlite://`` form."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'payguard.db'}"
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(PayGuardModel.metadata.create_all)
    await engine.dispose()
    return url


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[Store]:
    """The stored state of that file, read with the tests' own engine."""
    engine = create_async_engine(sqlite_url)
    yield Store(engine)
    await engine.dispose()


@pytest.fixture
def redis_url(redis_server: Server) -> str:
    return redis_server.url


@pytest.fixture
def queue_name() -> str:
    """A queue of the test's own, so jobs of one test never reach another's worker."""
    return f"payguard-test-{uuid.uuid4().hex[:8]}"
