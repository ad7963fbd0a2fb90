"""Outbound webhooks: the merchant's endpoints, one delivery per event and endpoint, and every attempt of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from litestar_payguard.models.base import CODE_LENGTH, TEXT_LENGTH, URL_LENGTH, PayGuardModel, enum_column_type

__all__ = (
    "DELIVERY_TERMINAL",
    "RESPONSE_BODY_LENGTH",
    "AttemptErrorKind",
    "AttemptTrigger",
    "DeliveryStatus",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
)

RESPONSE_BODY_LENGTH = 16 * 1024
"""Characters of a receiver's answer kept in an attempt record."""


class DeliveryStatus(StrEnum):
    """Lifecycle of one event's delivery to one endpoint."""

    PENDING = "pending"
    """Waiting for its next attempt (``next_attempt_at``)."""
    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    FAILED = "failed"
    """Every scheduled attempt failed; a manual retry or a recovery can queue it again."""
    CANCELLED = "cancelled"
    """Its endpoint was deleted or disabled before it was delivered."""


DELIVERY_TERMINAL = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED})
"""Delivery statuses nothing leaves (a ``failed`` delivery can be queued again)."""


class AttemptTrigger(StrEnum):
    """What started a delivery attempt."""

    SCHEDULED = "scheduled"
    """The retry schedule."""
    MANUAL = "manual"
    """The merchant (``POST /v1/webhook-deliveries/{id}/retry``); a failed manual attempt is not retried."""


class AttemptErrorKind(StrEnum):
    """Why an attempt failed, as the delivery log records it."""

    TIMEOUT = "timeout"
    """No complete answer within the attempt's deadline."""
    CONNECTION = "connection"
    """The connection could not be made or broke (refused, reset, unresolvable host, bad HTTP)."""
    TLS = "tls"
    """The TLS handshake failed: the certificate does not verify for the host name, or no common protocol."""
    BLOCKED_TARGET = "blocked_target"
    """The host resolved to an address that is not allowed; nothing was sent (set by the caller that resolves)."""
    REDIRECT = "redirect"
    """The receiver answered 3xx; redirects are not followed."""
    HTTP_STATUS = "http_status"
    """The receiver answered, with a status that is neither 2xx nor 3xx."""
    SIGNING_SECRET = "signing_secret"  # noqa: S105 (the name of an error kind, not a secret)
    """The endpoint's stored signing secret cannot be opened with the configured ``webhook_secret_key`` (none, or
    another key); nothing was sent."""


class WebhookEndpoint(PayGuardModel):
    """A URL of a merchant's backend that receives the events of its filter, signed with the endpoint's secret."""

    __tablename__ = "payguard_webhook_endpoint"
    __table_args__ = (Index("ix_payguard_webhook_endpoint_merchant", "merchant_id", "created_at"),)

    merchant_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_merchant.id", ondelete="RESTRICT"))
    url: Mapped[str] = mapped_column(String(URL_LENGTH))
    description: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)
    event_types: Mapped[list[str]] = mapped_column(JsonB, default=list)
    """Exact types and ``<prefix>.*`` wildcards; empty means every type."""
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)
    """Why payguard disabled it (a 410 answer, failing too long); ``None`` when the merchant did, or it is enabled."""
    disabled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    secret: Mapped[str] = mapped_column(Text)
    """The signing secret, sealed (encrypted when a key is configured)."""
    previous_secret: Mapped[str | None] = mapped_column(Text, default=None)
    """The secret before the last rotation, sealed; deliveries are signed with it too until it expires."""
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    failing_since: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """Since when every delivery has failed; any success clears it."""
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """Deleted by the merchant: gone from the API, kept so its delivery log stays readable."""


_LEASED = text("lease_until IS NOT NULL")


class WebhookDelivery(PayGuardModel):
    """One event sent (to be sent) to one endpoint; retried from the database until delivered or exhausted."""

    __tablename__ = "payguard_webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_payguard_webhook_delivery_endpoint_event"),
        Index("ix_payguard_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_payguard_webhook_delivery_event", "event_id"),
        Index("ix_payguard_webhook_delivery_endpoint_time", "endpoint_id", "created_at"),
        # An endpoint's due deliveries, oldest first: a run's next batch, and the sweep's pick for each endpoint.
        Index("ix_payguard_webhook_delivery_endpoint_due", "endpoint_id", "status", "next_attempt_at", "id"),
        # An endpoint's attempts in flight, counted before every batch: only the leased rows, a handful.
        Index(
            "ix_payguard_webhook_delivery_leased",
            "endpoint_id",
            "lease_until",
            postgresql_where=_LEASED,
            sqlite_where=_LEASED,
        ),
    )

    endpoint_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_webhook_endpoint.id", ondelete="RESTRICT"))
    event_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_event.id", ondelete="RESTRICT"))
    """Also the ``webhook-id`` header: the receiver's dedupe key, the same for every endpoint and retry."""
    event_type: Mapped[str] = mapped_column(String(CODE_LENGTH))
    """The event's type, copied so the log filters without a join."""
    status: Mapped[DeliveryStatus] = mapped_column(enum_column_type(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """When the next scheduled attempt is due; ``None`` once the delivery is no longer pending."""
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    """While an attempt is in flight: until when the worker making it holds the delivery (``None``: nobody)."""
    manual_retry: Mapped[bool] = mapped_column(default=False)
    """The next attempt is the merchant's: once made, a failure is not retried by the schedule."""


class WebhookAttempt(PayGuardModel):
    """One HTTP request of a delivery and what came back; never holds a secret."""

    __tablename__ = "payguard_webhook_attempt"
    __table_args__ = (UniqueConstraint("delivery_id", "number", name="uq_payguard_webhook_attempt_number"),)

    delivery_id: Mapped[UUID] = mapped_column(ForeignKey("payguard_webhook_delivery.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    """1 for the first attempt of the delivery."""
    trigger: Mapped[AttemptTrigger] = mapped_column(enum_column_type(AttemptTrigger))
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_headers: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    """A safe subset of the answer's headers (no cookies)."""
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    """At most :data:`RESPONSE_BODY_LENGTH` characters."""
    error_kind: Mapped[AttemptErrorKind | None] = mapped_column(enum_column_type(AttemptErrorKind), default=None)
    error_detail: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)
