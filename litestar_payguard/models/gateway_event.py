"""Inbound gateway webhooks, kept once per signed body."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from litestar_payguard.models.base import CODE_LENGTH, TEXT_LENGTH, PayGuardModel

__all__ = ("GatewayEvent",)


class GatewayEvent(PayGuardModel):
    """A verified webhook from the gateway. The unique (gateway, body hash) makes a redelivery a no-op.

    The hash is of the raw body the signature covers, not of the gateway's event id: Razorpay's id travels in a
    header the signature does not cover, so a resent genuine body with a new id must still be a redelivery.
    """

    __tablename__ = "payguard_gateway_event"
    __table_args__ = (
        UniqueConstraint("gateway", "body_sha256", name="uq_payguard_gateway_event_body"),
        Index("ix_payguard_gateway_event_deferred", "payment_id", "applied_at"),
    )

    gateway: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    """The gateway's id of the event, for reference (it may be unsigned)."""
    body_sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 (hex) of the signed raw body and the modes (test, live) whose webhook secret verified it: what
    deduplicates."""
    event_type: Mapped[str] = mapped_column(String(CODE_LENGTH))
    """The gateway's own name for it (``payment.captured``)."""
    kind: Mapped[str] = mapped_column(String(32))
    """What it means to payguard (:class:`~litestar_payguard.gateways.WebhookKind`)."""
    payment_id: Mapped[UUID | None] = mapped_column(ForeignKey("payguard_payment.id", ondelete="RESTRICT"))
    gateway_payment_id: Mapped[str | None] = mapped_column(String(255), default=None)
    gateway_order_id: Mapped[str | None] = mapped_column(String(255), default=None)
    gateway_refund_id: Mapped[str | None] = mapped_column(String(255), default=None)
    refund_receipt: Mapped[str | None] = mapped_column(String(255), default=None)
    amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    failure_code: Mapped[str | None] = mapped_column(String(CODE_LENGTH), default=None)
    failure_message: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    applied_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """``None`` while deferred: a refund event that came before its payment's success waits for it."""
    outcome: Mapped[str] = mapped_column(String(32))
    """What payguard did: ``queued`` (the payment is decided by a worker, from the gateway's answer),
    ``applied``, ``deferred``, ``stale`` (the payment already reached a final state), ``ignored``,
    ``unknown`` (no payment of ours)."""
