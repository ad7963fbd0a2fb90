"""Merchants: the tenants every row belongs to."""

from __future__ import annotations

from advanced_alchemy.types import JsonB
from sqlalchemy import String, text
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
    allowed_origins: Mapped[list[str]] = mapped_column(JsonB, default=list, server_default=text("'[]'"))
    """Origins (``https://shop.example``) a session's ``successUrl`` and ``cancelUrl`` may lead to, and the pages that
    may embed the checkout page."""
