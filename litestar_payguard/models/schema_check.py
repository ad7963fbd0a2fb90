"""What payguard's tables lack in a database, compared with the models of this version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Table, UniqueConstraint, inspect

from litestar_payguard.models.base import PayGuardModel

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.engine import Inspector
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ("TABLE_PREFIX", "SchemaReport", "missing_schema")

TABLE_PREFIX = "payguard_"
"""payguard's tables share advanced-alchemy's default metadata with the host's: they are told apart by name."""


@dataclass(frozen=True, slots=True)
class SchemaReport:
    """The payguard tables, columns and named indexes or constraints a database lacks."""

    tables: list[str]
    """Tables that do not exist."""
    columns: list[str]
    """``table.column`` of existing tables that lack a column the models have."""
    constraints: list[str]
    """``table.name`` of indexes and unique or check constraints the models have and the table lacks. payguard's
    invariants rest on them (one open payment per bundle, refunds within the captured amount, webhook dedupe):
    without one, a rule silently stops holding under concurrency."""

    def __bool__(self) -> bool:
        return bool(self.tables or self.columns or self.constraints)

    def describe(self) -> str:
        """A sentence naming what is missing, for an operator."""
        parts = []
        if self.tables:
            parts.append(f"missing tables: {', '.join(self.tables)}")
        if self.columns:
            parts.append(f"missing columns (a schema older than this payguard): {', '.join(self.columns)}")
        if self.constraints:
            parts.append(f"missing indexes or constraints: {', '.join(self.constraints)}")
        return "; ".join(parts)


def _expected_names(table: Table) -> set[str]:
    """The names of the table's indexes and unique and check constraints (the metadata's convention names all).

    Constraints a column type adds for some dialects only (a JSON check where the database has no JSON type) are
    left out: whether they exist depends on the database, not on the schema's version.
    """
    names = {str(index.name) for index in table.indexes if index.name}
    names.update(
        str(constraint.name)
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint | CheckConstraint)
        and constraint.name
        and not getattr(constraint, "_type_bound", False)
    )
    return names


def _stored_names(inspector: Inspector, table: str) -> set[str]:
    found = [
        *inspector.get_indexes(table),
        *inspector.get_unique_constraints(table),
        *inspector.get_check_constraints(table),
    ]
    return {str(entry["name"]) for entry in found if entry.get("name")}


def _compare(connection: Connection) -> SchemaReport:
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    tables: list[str] = []
    columns: list[str] = []
    constraints: list[str] = []
    for table in PayGuardModel.metadata.sorted_tables:
        if not table.name.startswith(TABLE_PREFIX):
            continue
        if table.name not in existing:
            tables.append(table.name)
            continue
        stored = {column["name"] for column in inspector.get_columns(table.name)}
        columns.extend(f"{table.name}.{column.name}" for column in table.columns if column.name not in stored)
        named = _stored_names(inspector, table.name)
        constraints.extend(f"{table.name}.{name}" for name in sorted(_expected_names(table) - named))
    return SchemaReport(tables, columns, constraints)


async def missing_schema(connection: AsyncConnection) -> SchemaReport:
    """Compare the database's payguard tables with the models: tables, columns, named indexes and constraints.

    Column types, nullability and constraint definitions are not compared: a same-named object is taken as
    the model's.
    """
    return await connection.run_sync(_compare)
