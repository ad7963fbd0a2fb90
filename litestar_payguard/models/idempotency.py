"""Idempotency keys: a claim while the first request runs, then its stored response."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Index, LargeBinary, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from litestar_payguard.models.base import PayGuardModel, enum_column_type
from litestar_payguard.models.enums import IdempotencyStatus

__all__ = ("IdempotencyKey",)


class IdempotencyKey(PayGuardModel):
    """One ``Idempotency-Key`` in one scope (principal, method, route), with the response it produced.

    The unique constraint on (scope, key) is what makes the first request's claim atomic.
    """

    __tablename__ = "payguard_idempotency_key"
    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_payguard_idempotency_key_scope_key"),
        Index("ix_payguard_idempotency_key_expires_at", "expires_at"),
    )

    scope: Mapped[str] = mapped_column(String(512))
    """``<merchant>|<customer>|<METHOD>|<route template>``."""
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the canonical request body and the route's path parameters."""
    status: Mapped[IdempotencyStatus] = mapped_column(enum_column_type(IdempotencyStatus))
    locked_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the running request claimed the key; a claim older than the lock timeout may be taken over."""
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    response_status: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    response_headers: Mapped[list[Any] | None] = mapped_column(JsonB, default=None)
    """``[[name, value], …]``: the content headers of the stored response."""
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
