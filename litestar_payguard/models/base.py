"""Shared column types and the declarative base of payguard's tables."""

from __future__ import annotations

from enum import StrEnum

from advanced_alchemy.base import UUIDAuditBase
from sqlalchemy import Enum

__all__ = ("CODE_LENGTH", "TEXT_LENGTH", "URL_LENGTH", "PayGuardModel", "clip", "enum_column_type")

CODE_LENGTH = 64
"""Size of the columns holding a machine code (failure codes, event types); longer ones are cut to it."""
TEXT_LENGTH = 500
"""Size of the columns holding a person's or a gateway's text (failure messages, reasons, details)."""
URL_LENGTH = 2048
"""Size of the columns holding a URL (webhook endpoints, a session's return URLs); longer URLs are refused, not cut."""


def clip(text: str | None, length: int = TEXT_LENGTH) -> str | None:
    """``text`` cut to a column's length (``None`` stays ``None``)."""
    return None if text is None else text[:length]


class PayGuardModel(UUIDAuditBase):
    """Base of every payguard table: UUID primary key, UTC ``created_at``/``updated_at``.

    It lives in advanced-alchemy's default registry, so the host's ``create_all`` and its Alembic
    migrations (``litestar database make-migrations``) include payguard's tables.
    """

    __abstract__ = True


def enum_column_type(enum: type[StrEnum]) -> Enum:
    """Store a str enum by value in a VARCHAR, so adding a member needs no type migration."""
    return Enum(
        enum,
        native_enum=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
