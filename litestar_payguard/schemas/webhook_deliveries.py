"""Schemas of the webhook delivery log: deliveries, their attempts, manual retries, tests and recoveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar_payguard.models import AttemptErrorKind, AttemptTrigger, DeliveryStatus, WebhookAttempt, WebhookDelivery
from litestar_payguard.schemas.base import CamelStruct, InputStruct

__all__ = (
    "DeliveryAttempt",
    "Recovery",
    "RecoveryQueued",
    "TestSent",
    "WebhookDeliveryDetail",
    "WebhookDeliveryPage",
    "WebhookDeliveryView",
    "attempt_view",
    "delivery_view",
)


class WebhookDeliveryView(CamelStruct):
    """One event's delivery to one endpoint."""

    id: UUID
    endpoint_id: UUID
    event_id: UUID
    """Also the ``webhook-id`` header the receiver dedupes by."""
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    """When the next scheduled attempt is due (``null`` once delivered, failed or cancelled)."""
    last_attempt_at: datetime | None
    created_at: datetime


class DeliveryAttempt(CamelStruct):
    """One request of a delivery and what came back."""

    number: int
    trigger: AttemptTrigger
    started_at: datetime
    duration_ms: int
    response_status: int | None
    response_headers: dict[str, Any]
    """A safe subset of the answer's headers."""
    response_body: str | None
    """The start of the answer's body (at most 16 kB)."""
    error_kind: AttemptErrorKind | None
    error_detail: str | None


class WebhookDeliveryDetail(WebhookDeliveryView, kw_only=True):
    """A delivery with every attempt, first first."""

    attempt_log: list[DeliveryAttempt]


class WebhookDeliveryPage(CamelStruct):
    """A page of deliveries, newest first."""

    items: list[WebhookDeliveryView]
    limit: int
    next_cursor: str | None


class Recovery(InputStruct):
    """Which failed deliveries of an endpoint to queue again: those created in ``[since, until)``."""

    since: datetime
    until: datetime | None = None


class RecoveryQueued(CamelStruct):
    """How many failed deliveries were queued again."""

    queued: int


class TestSent(CamelStruct):
    """The ``webhook.test`` event written for the endpoint, and its delivery (attempted at once)."""

    event_id: UUID
    delivery_id: UUID


def delivery_view(delivery: WebhookDelivery) -> WebhookDeliveryView:
    """Render a delivery without its attempts."""
    return WebhookDeliveryView(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_attempt_at=delivery.last_attempt_at,
        created_at=delivery.created_at,
    )


def attempt_view(attempt: WebhookAttempt) -> DeliveryAttempt:
    """Render one attempt of the log."""
    return DeliveryAttempt(
        number=attempt.number,
        trigger=attempt.trigger,
        started_at=attempt.started_at,
        duration_ms=attempt.duration_ms,
        response_status=attempt.response_status,
        response_headers=dict(attempt.response_headers),
        response_body=attempt.response_body,
        error_kind=attempt.error_kind,
        error_detail=attempt.error_detail,
    )
