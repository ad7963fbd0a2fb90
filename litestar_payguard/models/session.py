"""Checkout sessions and their append-only event log."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from litestar_payguard.models.base import TEXT_LENGTH, URL_LENGTH, PayGuardModel, enum_column_type
from litestar_payguard.models.enums import InterruptKind, SessionEventType, SessionStatus
from litestar_payguard.models.payment import Payment

__all__ = ("CheckoutSession", "SessionEvent")


class CheckoutSession(PayGuardModel):
    """A checkout wrapping one payment: bounded attempts, each with a deadline, and an expiry."""

    __tablename__ = "payguard_session"
    __table_args__ = (
        Index("ix_payguard_session_owner", "merchant_id", "customer_id"),
        Index("ix_payguard_session_open", "status", "expires_at"),
    )

    merchant_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_merchant.id", ondelete="RESTRICT"))
    customer_id: Mapped[str] = mapped_column(String(255))
    payment_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_payment.id", ondelete="RESTRICT"), unique=True)
    status: Mapped[SessionStatus] = mapped_column(enum_column_type(SessionStatus), default=SessionStatus.ACTIVE)
    attempt: Mapped[int] = mapped_column(SmallInteger, default=1)
    max_attempts: Mapped[int] = mapped_column(SmallInteger)
    attempt_started_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    attempt_deadline: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    interrupted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    interrupt_kind: Mapped[InterruptKind | None] = mapped_column(enum_column_type(InterruptKind), default=None)
    interrupt_detail: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    client_secret_hash: Mapped[str | None] = mapped_column(String(128), default=None)
    """Hash of the secret a checkout page acts on this session with; ``None`` for sessions older than it."""
    success_url: Mapped[str | None] = mapped_column(String(URL_LENGTH), default=None)
    """Where the checkout page sends the customer once paid (an allowed origin of the merchant)."""
    cancel_url: Mapped[str | None] = mapped_column(String(URL_LENGTH), default=None)
    """Where the checkout page sends a customer who gives up."""

    payment: Mapped[Payment] = relationship(lazy="joined", innerjoin=True)


class SessionEvent(PayGuardModel):
    """One transition of a session, never updated."""

    __tablename__ = "payguard_session_event"

    session_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_session.id", ondelete="CASCADE"), index=True)
    type: Mapped[SessionEventType] = mapped_column(enum_column_type(SessionEventType))
    attempt: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[InterruptKind | None] = mapped_column(enum_column_type(InterruptKind), default=None)
    detail: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))

    # Never loaded; it tells the unit of work to insert the session before its events.
    session: Mapped[CheckoutSession] = relationship(lazy="raise", viewonly=False)
