"""Fixtures of the integration tests: the host app on real Postgres (or SQLite) and Redis, a clock, stored state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from litestar import Litestar

from litestar_payguard.testing import ManualClock
from tests.hostapp import create_app
from tests.support import ADMIN, ALICE, BOB, Client, Store, create_session, payguard_of, serve

__all__ = (
    "ADMIN",
    "ALICE",
    "BOB",
    "ON_BOTH_DATABASES",
    "ON_SQLITE",
    "Client",
    "ClientFactory",
    "Store",
    "create_session",
    "payguard_of",
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

AppFactory = Callable[..., Litestar]
ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


DATABASES = ("postgres", "sqlite")
ON_BOTH_DATABASES = pytest.mark.parametrize("backend", DATABASES, indirect=True)
"""Run the test with the host app on Postgres, then on a SQLite file (the embedded default)."""
ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
"""Run the test with the host app on a SQLite file only (what only SQLite does)."""


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database the host app runs on: Postgres, unless the test is marked :data:`ON_BOTH_DATABASES`."""
    return str(getattr(request, "param", "postgres"))


@pytest.fixture
def store(backend: str, request: pytest.FixtureRequest) -> Store:
    """The stored state of the database the host app runs on (only that database is started)."""
    return cast("Store", request.getfixturevalue(f"{backend}_store"))


@pytest.fixture
def host_database_url(backend: str, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "database_url"))


@pytest.fixture
def make_app(host_database_url: str, redis_url: str, queue_name: str, clock: ManualClock, store: Store) -> AppFactory:
    def factory(**overrides: Any) -> Litestar:
        settings: dict[str, Any] = {"database_url": host_database_url, "queue_url": redis_url}
        settings["queue_name"] = queue_name
        settings["clock"] = clock
        settings.update(overrides)
        return create_app(**settings)

    return factory


@pytest.fixture
def client_for(make_app: AppFactory) -> ClientFactory:
    """``async with client_for(**config_overrides) as client`` runs a host app with those settings."""

    def open_client(**overrides: Any) -> AbstractAsyncContextManager[Client]:
        return serve(make_app(**overrides))

    return open_client


@pytest.fixture
async def client(client_for: ClientFactory) -> AsyncIterator[Client]:
    async with client_for() as client:
        yield client
