"""Fixtures of the integration tests: the host app on real Postgres and Redis, a clock, stored state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar

from litestar_payguard.testing import ManualClock
from tests.hostapp import create_app
from tests.support import ADMIN, ALICE, BOB, Client, Store, create_session, payguard_of, serve

__all__ = ("ADMIN", "ALICE", "BOB", "Client", "ClientFactory", "Store", "create_session", "payguard_of")

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

AppFactory = Callable[..., Litestar]
ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def make_app(database_url: str, redis_url: str, queue_name: str, clock: ManualClock, store: Store) -> AppFactory:
    def factory(**overrides: Any) -> Litestar:
        settings: dict[str, Any] = {"database_url": database_url, "queue_url": redis_url, "queue_name": queue_name}
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
