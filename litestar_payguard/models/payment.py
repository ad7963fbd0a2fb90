"""Payments: one money movement for a (customer, bundle)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from litestar_payguard.models.base import CODE_LENGTH, TEXT_LENGTH, PayGuardModel, enum_column_type
from litestar_payguard.models.enums import PaymentMode, PaymentStatus

__all__ = ("OPEN_PAYMENT_INDEX", "Payment")

OPEN_PAYMENT_INDEX = "uq_payguard_payment_open_bundle"
"""At most one open (pending or processing) payment per merchant, customer and bundle: concurrent requests
cannot both win, whatever the code above it does."""
_OPEN = text("status IN ('pending', 'processing')")
_DUE = text("process_at IS NOT NULL")


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
        Index("ix_payguard_payment_due", "process_at", postgresql_where=_DUE, sqlite_where=_DUE),
        Index("ix_payguard_payment_gateway_ref", "gateway", "gateway_payment_id"),
        Index("ix_payguard_payment_gateway_order", "gateway", "gateway_order_id"),
        Index("ix_payguard_payment_merchant_time", "merchant_id", "created_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount", name="refunds_within_amount"),
        CheckConstraint(
            "amount_refunding >= 0 AND amount_refunded + amount_refunding <= amount", name="reserved_within_amount"
        ),
    )

    merchant_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_merchant.id", ondelete="RESTRICT"))
    customer_id: Mapped[str] = mapped_column(String(255))
    bundle_id: Mapped[str] = mapped_column(String(128))
    plan_name: Mapped[str | None] = mapped_column(String(128), default=None)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(enum_column_type(PaymentStatus), default=PaymentStatus.PENDING)
    mode: Mapped[PaymentMode] = mapped_column(enum_column_type(PaymentMode))
    """Test or live, from the merchant's ``test_mode`` when the payment was made: every gateway call of the payment
    and its refunds goes to the deployment's gateway of this mode, never the other one."""
    gateway: Mapped[str] = mapped_column(String(32))
    """Name of the gateway the payment was made with; its mode's gateway must still have this name."""
    gateway_payment_id: Mapped[str | None] = mapped_column(String(255), default=None)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH), default=None)
    failure_message: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JsonB, default=dict)
    """The caller's metadata (``metadata`` is taken by SQLAlchemy's declarative base)."""
    order_id: Mapped[str | None] = mapped_column(String(128), default=None)
    """The merchant's own reference (its order), from the merchant API."""
    method: Mapped[str | None] = mapped_column(String(32), default=None)
    """``card``, ``upi``, … for a payment the server starts (merchant API); ``None`` for a checkout payment."""
    method_details: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict, server_default=text("'{}'"))
    """Method-specific fields (``vpa`` for UPI). Never card numbers: those stay with the gateway."""
    gateway_order_id: Mapped[str | None] = mapped_column(String(255), default=None)
    """The order opened at the gateway; every charge of this payment goes against it."""
    amount_refunding: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    """Sum of refunds admitted but not yet processed; with ``amount_refunded`` it never exceeds ``amount``."""
    process_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When a worker should next take the payment up (first processing, a retry, a poll); ``None`` when no
    work is due. While a worker holds the payment it is the end of that worker's lease: a worker that died
    leaves it in the past, and the reconciler hands the payment to another one."""
    processing_started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    process_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """Times a worker took the payment up for its current work: processing, or, once payguard closed it unpaid
    with a gateway order, asking the gateway whether it was paid all the same."""
    fulfilment_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """Times the host's ``on_payment_succeeded`` hook failed for this payment."""
    needs_attention: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    """Set when payguard gave up (the fulfilment hook kept failing): an admin must look; never paid silently."""
    attention_reason: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)

    @property
    def refundable(self) -> int:
        """Minor units still free to refund: captured, less what is refunded or admitted for refunding."""
        return self.amount - self.amount_refunded - self.amount_refunding
