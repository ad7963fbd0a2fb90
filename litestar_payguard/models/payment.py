"""Payments: one money movement for a (customer, bundle)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.types import JsonB
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from litestar_payguard.models.base import PayGuardModel, enum_column_type
from litestar_payguard.models.enums import PaymentStatus

__all__ = ("OPEN_PAYMENT_INDEX", "Payment")

OPEN_PAYMENT_INDEX = "uq_payguard_payment_open_bundle"
"""At most one open (pending or processing) payment per merchant, customer and bundle: concurrent requests
cannot both win, whatever the code above it does."""
_OPEN = text("status IN ('pending', 'processing')")


class Payment(PayGuardModel):
    """An amount in minor units of an ISO 4217 currency, owed by a customer for a bundle."""

    __tablename__ = "payguard_payment"
    __table_args__ = (
        Index("ix_payguard_payment_owner", "merchant_id", "customer_id", "bundle_id"),
        Index(
            OPEN_PAYMENT_INDEX,
            "merchant_id",
            "customer_id",
            "bundle_id",
            unique=True,
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
        Index("ix_payguard_payment_open_age", "status", "created_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount", name="refunds_within_amount"),
    )

    merchant_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_merchant.id", ondelete="RESTRICT"))
    customer_id: Mapped[str] = mapped_column(String(255))
    bundle_id: Mapped[str] = mapped_column(String(128))
    plan_name: Mapped[str | None] = mapped_column(String(128), default=None)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(enum_column_type(PaymentStatus), default=PaymentStatus.PENDING)
    gateway: Mapped[str] = mapped_column(String(32))
    gateway_payment_id: Mapped[str | None] = mapped_column(String(255), default=None)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(64), default=None)
    failure_message: Mapped[str | None] = mapped_column(String(500), default=None)
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JsonB, default=dict)
    """The caller's metadata (``metadata`` is taken by SQLAlchemy's declarative base)."""
