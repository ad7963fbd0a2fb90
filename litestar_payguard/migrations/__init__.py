"""payguard's schema migrations: Alembic revisions shipped in the package, in their own version table.

Hosts run them with ``litestar payguard db upgrade`` or from their own code::

    from litestar_payguard import migrations

    await migrations.upgrade(engine)  # an AsyncEngine (or a sync Engine) on the host's database

They touch only the ``payguard_*`` tables and record their revision in ``payguard_alembic_version``, so they never
collide with the host's own Alembic history (keep payguard's tables out of the host's autogenerate: see the
operations guide).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from litestar_payguard.migrations.names import (
    VERSION_TABLE,
    compare_type,
    exclude_payguards,
    is_payguards,
    only_payguards,
)
from litestar_payguard.models import PayGuardModel

__all__ = ("VERSION_TABLE", "check", "current", "current_of", "downgrade", "exclude_payguards", "head", "upgrade")

_HERE = Path(__file__).resolve().parent
T = TypeVar("T")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The latest revision payguard ships."""
    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None
    return found


async def _run(engine: AsyncEngine | Engine, work: Callable[[Connection], T], *, write: bool) -> T:
    if isinstance(engine, AsyncEngine):
        async with engine.begin() if write else engine.connect() as connection:
            return await connection.run_sync(work)
    with engine.begin() if write else engine.connect() as connection:
        return work(connection)


async def upgrade(engine: AsyncEngine | Engine, revision: str = "head") -> None:
    """Bring payguard's tables to ``revision`` (the latest by default), in one transaction."""
    await _run(engine, lambda connection: command.upgrade(_config(connection), revision), write=True)


async def downgrade(engine: AsyncEngine | Engine, revision: str) -> None:
    """Take payguard's tables back to ``revision`` (``-1``: one step); what the later revisions added is dropped."""
    await _run(engine, lambda connection: command.downgrade(_config(connection), revision), write=True)


def current_of(connection: Connection) -> str | None:
    """The revision payguard's tables are at on this connection; ``None``: never migrated by payguard."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


async def current(engine: AsyncEngine | Engine) -> str | None:
    """The revision payguard's tables are at; ``None`` when payguard's migrations never ran on this database."""
    return await _run(engine, current_of, write=False)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "include_name": is_payguards,
            "include_object": only_payguards,
            "compare_type": compare_type,
            "version_table": VERSION_TABLE,
        },
    )
    return list(compare_metadata(context, PayGuardModel.metadata))


async def check(engine: AsyncEngine | Engine) -> list[Any]:
    """Where the database's ``payguard_*`` tables and payguard's models differ (Alembic's comparison).

    Empty when they match.
    """
    return await _run(engine, _differences, write=False)
