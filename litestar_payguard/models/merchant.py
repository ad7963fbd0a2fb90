"""Merchants: the tenants every row belongs to."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from litestar_payguard.models.base import PayGuardModel

__all__ = ("Merchant",)


class Merchant(PayGuardModel):
    """A tenant, identified by an API key; its secret is stored hashed."""

    __tablename__ = "payguard_merchant"

    name: Mapped[str] = mapped_column(String(200))
    api_key: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    """``sha256$<salt>$<hex>``; ``None`` for a default merchant that cannot authenticate by headers."""
    test_mode: Mapped[bool] = mapped_column(default=True)
