"""payguard's shipped migrations, on empty Postgres and SQLite databases of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from litestar_payguard import migrations
from litestar_payguard.models.schema_check import missing_schema
from litestar_payguard.testing.servers import Server
from tests.hostapp import create_app
from tests.integration.test_startup import _start_error
from tests.support import create_database, drop_database

EMPTY = ("postgres", "sqlite")


@pytest.fixture(params=EMPTY)
async def empty(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a database with no table at all."""
    if request.param == "sqlite":
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
        yield engine
        await engine.dispose()
        return
    server: Server = request.getfixturevalue("postgres_server")
    url = await create_database(server.url, "payguard_migrations")
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()
    await drop_database(server.url, url)


async def test_upgrading_an_empty_database_gives_exactly_the_models_schema(empty: AsyncEngine) -> None:
    assert await migrations.current(empty) is None

    await migrations.upgrade(empty)

    assert await migrations.current(empty) == migrations.head()
    assert await migrations.check(empty) == []  # Alembic's comparison finds nothing
    async with empty.connect() as connection:
        assert not await missing_schema(connection)
        tables = await connection.run_sync(lambda sync: sync.dialect.get_table_names(sync))
    assert "alembic_version" not in tables  # the host's own version table is never made or touched
    assert "payguard_alembic_version" in tables


async def test_an_upgrade_from_the_previous_schema_keeps_every_row(empty: AsyncEngine) -> None:
    await migrations.upgrade(empty, "0001")  # the schema before the checkout pages
    merchant, payment, session = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = {"merchant": _id(empty, merchant), "payment": _id(empty, payment), "session": _id(empty, session)}
    async with empty.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO payguard_merchant (id, name, api_key, test_mode, created_at, updated_at) "
                "VALUES (:merchant, 'Shop', 'key_shop', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            ids,
        )
        await connection.execute(
            text(
                "INSERT INTO payguard_payment (id, merchant_id, customer_id, bundle_id, amount, currency, status, "
                "mode, gateway, amount_refunded, metadata, created_at, updated_at) VALUES (:payment, :merchant, "
                "'alice', 'pro', 2900, 'USD', 'pending', 'test', 'simulated', 0, '{}', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"
            ),
            ids,
        )
        await connection.execute(
            text(
                "INSERT INTO payguard_session (id, merchant_id, customer_id, payment_id, status, attempt, "
                "max_attempts, attempt_started_at, attempt_deadline, expires_at, created_at, updated_at) VALUES ("
                ":session, :merchant, 'alice', :payment, 'active', 1, 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            ids,
        )

    await migrations.upgrade(empty)

    async with empty.connect() as connection:
        merchants = (await connection.execute(text("SELECT name, allowed_origins FROM payguard_merchant"))).all()
        payments = (await connection.execute(text("SELECT amount, status FROM payguard_payment"))).all()
        sessions = (await connection.execute(text("SELECT status, client_secret_hash FROM payguard_session"))).all()
    assert [(name, str(origins)) for name, origins in merchants] in ([("Shop", "[]")],)
    assert [tuple(row) for row in payments] == [(2900, "pending")]
    assert [tuple(row) for row in sessions] == [("active", None)]
    assert await migrations.check(empty) == []


async def test_the_latest_revision_downgrades_and_upgrades_again(empty: AsyncEngine) -> None:
    await migrations.upgrade(empty)

    await migrations.downgrade(empty, "-1")
    previous = await migrations.current(empty)
    await migrations.upgrade(empty)

    assert previous == "0003"
    assert await migrations.current(empty) == migrations.head()
    assert await migrations.check(empty) == []


async def test_a_database_behind_the_latest_revision_stops_the_app_naming_the_command(
    tmp_path: Path, redis_url: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    engine = create_async_engine(url)
    await migrations.upgrade(engine, "0001")
    await engine.dispose()
    message = await _start_error(create_app(database_url=url, queue_url=redis_url))

    assert f"its tables are at revision 0001, this version needs {migrations.head()}" in message
    assert "payguard db upgrade" in message


def _id(engine: AsyncEngine, value: uuid.UUID) -> object:
    """A UUID as the dialect stores it (Postgres: a uuid; SQLite: 16 bytes)."""
    return value.bytes if engine.dialect.name == "sqlite" else value


async def test_the_hosts_autogenerate_leaves_payguards_tables_alone(empty: AsyncEngine) -> None:
    from alembic.autogenerate import compare_metadata  # noqa: PLC0415
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415
    from sqlalchemy import Column, Integer, MetaData, Table  # noqa: PLC0415

    await migrations.upgrade(empty)
    host = MetaData()
    Table("host_order", host, Column("id", Integer, primary_key=True))  # the host's model, not yet in the database

    def differences(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"include_name": migrations.exclude_payguards})
        return list(compare_metadata(context, host))

    async with empty.connect() as connection:
        found = await connection.run_sync(differences)

    # Without the hook the host's migration would drop every payguard table; with it, it only adds its own.
    assert [(change[0], change[1].name) for change in found] == [("add_table", "host_order")]
