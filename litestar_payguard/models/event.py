"""The outbox: one row per state change, written in the transaction that makes the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from litestar_payguard.models.base import CODE_LENGTH, PayGuardModel

__all__ = ("OutboxEvent",)


class OutboxEvent(PayGuardModel):
    """A state change to be delivered to the merchant's webhook endpoints."""

    __tablename__ = "payguard_event"
    __table_args__ = (
        Index("ix_payguard_event_merchant_time", "merchant_id", "occurred_at"),
        Index("ix_payguard_event_fan_out", "fanned_out_at", "created_at"),
        Index("ix_payguard_event_merchant_created", "merchant_id", "created_at"),  # GET /v1/events
        Index("ix_payguard_event_created", "created_at"),  # the retention purge
    )

    merchant_id: Mapped[UUID | None] = mapped_column(ForeignKey("payguard_merchant.id", ondelete="RESTRICT"))
    """The tenant whose resource changed; ``None`` for an event about the deployment itself
    (``payguard.cleanup.large``), meant for the operator rather than a merchant."""
    type: Mapped[str] = mapped_column(String(CODE_LENGTH))
    """``<resource>.<change>``, e.g. ``payment.succeeded``."""
    subject_id: Mapped[UUID]
    """Id of the payment, session or cleanup run the event is about."""
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB)
    """Snapshot of the resource after the change, as the API renders it."""
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    fanned_out_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When its webhook deliveries were created (one per matching endpoint); ``None``: not yet."""
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JsonB, default=None)
    """The trace context of the span that wrote it (W3C ``traceparent``, ``tracestate``), which its webhook
    deliveries' spans continue; ``None`` when nothing was traced."""
