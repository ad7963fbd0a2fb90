"""What payguard's tables lack in a database, compared with the models of this version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import inspect

from litestar_payguard.models.base import PayGuardModel

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ("TABLE_PREFIX", "SchemaReport", "missing_schema")

TABLE_PREFIX = "payguard_"
"""payguard's tables share advanced-alchemy's default metadata with the host's: they are told apart by name."""


@dataclass(frozen=True, slots=True)
class SchemaReport:
    """The payguard tables and columns a database lacks."""

    tables: list[str]
    """Tables that do not exist."""
    columns: list[str]
    """``table.column`` of existing tables that lack a column the models have."""

    def __bool__(self) -> bool:
        return bool(self.tables or self.columns)

    def describe(self) -> str:
        """A sentence naming what is missing, for an operator."""
        parts = []
        if self.tables:
            parts.append(f"missing tables: {', '.join(self.tables)}")
        if self.columns:
            parts.append(f"missing columns (a schema older than this payguard): {', '.join(self.columns)}")
        return "; ".join(parts)


def _compare(connection: Connection) -> SchemaReport:
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    tables: list[str] = []
    columns: list[str] = []
    for table in PayGuardModel.metadata.sorted_tables:
        if not table.name.startswith(TABLE_PREFIX):
            continue
        if table.name not in existing:
            tables.append(table.name)
            continue
        stored = {column["name"] for column in inspector.get_columns(table.name)}
        columns.extend(f"{table.name}.{column.name}" for column in table.columns if column.name not in stored)
    return SchemaReport(tables, columns)


async def missing_schema(connection: AsyncConnection) -> SchemaReport:
    """Compare the database's payguard tables with the models: tables and columns, not types or indexes."""
    return await connection.run_sync(_compare)
