"""What payguard's migrations own: the ``payguard_*`` tables, versioned in ``payguard_alembic_version``."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from advanced_alchemy.types import GUID

__all__ = ("TABLE_PREFIX", "VERSION_TABLE", "compare_type", "exclude_payguards", "is_payguards", "only_payguards")

TABLE_PREFIX = "payguard_"
VERSION_TABLE = "payguard_alembic_version"
"""payguard's own Alembic version table: the host's ``alembic_version`` is never touched."""


def is_payguards(name: str | None, type_: Any, parent_names: MutableMapping[Any, str | None]) -> bool:
    """Alembic's ``include_name`` hook: payguard's tables (and what is in them), never the host's."""
    if type_ == "table":
        return bool(name) and str(name).startswith(TABLE_PREFIX) and name != VERSION_TABLE
    table = parent_names.get("table_name")
    return table is None or str(table).startswith(TABLE_PREFIX)


def only_payguards(obj: Any, name: str | None, type_: Any, reflected: bool, compare_to: Any) -> bool:  # noqa: ARG001
    """Alembic's ``include_object`` hook: payguard's tables among the models too (the host's share the metadata)."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = getattr(table, "name", name)
    return bool(table_name) and str(table_name).startswith(TABLE_PREFIX) and table_name != VERSION_TABLE


def exclude_payguards(name: str | None, type_: Any, parent_names: MutableMapping[Any, str | None]) -> bool:
    """The host's own Alembic ``include_name`` hook: everything but payguard's tables.

    Pass it in the host's ``env.py`` (``context.configure(..., include_name=exclude_payguards)``): payguard's own
    revisions migrate its tables.
    """
    if type_ == "table":
        return not (bool(name) and str(name).startswith(TABLE_PREFIX))
    table = parent_names.get("table_name")
    return table is None or not str(table).startswith(TABLE_PREFIX)


def compare_type(context: Any, _inspected: Any, metadata: Any, *_types: Any) -> bool | None:
    """Alembic's ``compare_type`` hook: what is the same column is no difference.

    SQLite reflects advanced-alchemy's ``GUID`` (``BINARY(16)``) as ``NUMERIC``; every other type is compared as
    Alembic does (``None``).
    """
    if context.dialect.name == "sqlite" and isinstance(metadata.type, GUID):
        return False
    return None
