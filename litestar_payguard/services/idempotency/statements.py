"""The statements of the idempotency key table, built once with bind parameters.

SQLAlchemy compiles each one once and reuses it: a claim pays no statement building.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, select, text, update

from litestar_payguard.models import IdempotencyKey, IdempotencyStatus

if TYPE_CHECKING:
    from sqlalchemy import Table

__all__ = ("CLAIM", "COLUMNS", "COMPLETE", "FIND", "RELEASE", "TABLE", "TAKE_OVER")

TABLE: Table = IdempotencyKey.__table__  # type: ignore[assignment]
COLUMNS = TABLE.c
FIND = select(
    COLUMNS.id,
    COLUMNS.fingerprint,
    COLUMNS.status,
    COLUMNS.locked_at,
    COLUMNS.expires_at,
    COLUMNS.response_status,
    COLUMNS.response_headers,
    COLUMNS.response_body,
).where(COLUMNS.scope == bindparam("scope"), COLUMNS.key == bindparam("key"))
_OWNED = (
    (COLUMNS.id == bindparam("record_id"))
    & (COLUMNS.locked_at == bindparam("claimed_at"))
    & (COLUMNS.status == IdempotencyStatus.IN_PROGRESS)
)
COMPLETE = (
    update(TABLE)
    .where(_OWNED)
    .values(
        status=IdempotencyStatus.COMPLETED,
        response_status=bindparam("stored_status"),
        response_headers=bindparam("stored_headers", type_=COLUMNS.response_headers.type),
        response_body=bindparam("stored_body", type_=COLUMNS.response_body.type),
    )
)
RELEASE = delete(TABLE).where(_OWNED)
TAKE_OVER = (
    update(TABLE)
    .where(
        COLUMNS.id == bindparam("record_id"),
        COLUMNS.locked_at == bindparam("seen_locked_at"),
        COLUMNS.status == bindparam("seen_status"),
    )
    .values(
        fingerprint=bindparam("new_fingerprint"),
        status=IdempotencyStatus.IN_PROGRESS,
        locked_at=bindparam("claimed_at"),
        expires_at=bindparam("new_expires_at"),
        response_status=None,
        response_headers=None,
        response_body=None,
    )
)
_CLAIM_COLUMNS = ("id", "scope", "key", "fingerprint", "status", "locked_at", "expires_at", "created_at", "updated_at")
# SQLAlchemy cannot cache its dialects' ON CONFLICT constructs (they would be compiled on every claim); the same
# SQL as text, with the columns' types on its parameters, is cached, and runs on Postgres and SQLite alike.
CLAIM = (
    text(
        f"INSERT INTO {TABLE.name} ({', '.join(_CLAIM_COLUMNS)}) "  # noqa: S608  # constant names only
        f"VALUES ({', '.join(':' + name for name in _CLAIM_COLUMNS)}) "
        "ON CONFLICT (scope, key) DO NOTHING RETURNING id"
    )
    .bindparams(*(bindparam(name, type_=COLUMNS[name].type) for name in _CLAIM_COLUMNS))
    .columns(COLUMNS.id)
)
