"""Refunds: (part of) a captured payment given back."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from litestar_payguard.models.base import CODE_LENGTH, TEXT_LENGTH, PayGuardModel, enum_column_type
from litestar_payguard.models.enums import RefundStatus

__all__ = ("Refund",)

_DUE = text("process_at IS NOT NULL")


class Refund(PayGuardModel):
    """A refund of a payment, admitted under a lock on the payment and executed by a worker."""

    __tablename__ = "payguard_refund"
    __table_args__ = (
        Index("ix_payguard_refund_payment", "payment_id", "created_at"),
        Index("ix_payguard_refund_due", "process_at", postgresql_where=_DUE, sqlite_where=_DUE),
        CheckConstraint("amount > 0", name="refund_amount_positive"),
    )

    merchant_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_merchant.id", ondelete="RESTRICT"))
    payment_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_payment.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)
    status: Mapped[RefundStatus] = mapped_column(enum_column_type(RefundStatus), default=RefundStatus.PENDING)
    gateway_refund_id: Mapped[str | None] = mapped_column(String(255), default=None)
    failure_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH), default=None)
    failure_message: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)
    process_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When a worker should next take the refund up; the end of its lease while one holds it; ``None`` once
    final."""
    process_attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When it reached a final status."""
