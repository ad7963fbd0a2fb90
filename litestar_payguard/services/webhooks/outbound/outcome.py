"""What one attempt's answer does to its delivery and its endpoint, recorded with the attempt in one transaction.

- 2xx: delivered; the endpoint is no longer failing.
- 410 Gone: the receiver says the endpoint is gone: it is disabled (reason stored, its pending deliveries
  cancelled, a ``webhook_endpoint.disabled`` event written).
- Anything else, a timeout or a connection error: a failed attempt. A scheduled one is tried again on the
  schedule (the merchant's test mode has its own, shorter one; 429 and 503 may stretch it with ``Retry-After``)
  until its attempts run out, then it is ``failed``; a manual attempt that fails is not retried by itself. An
  endpoint whose every delivery has failed for ``webhook_disable_after_seconds`` is disabled, saying why.

The attempt is stored whatever happens; the delivery changes only while the attempt's lease is still its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from litestar_payguard.models import (
    TEXT_LENGTH,
    AttemptTrigger,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    clip,
)
from litestar_payguard.models.webhook import RESPONSE_BODY_LENGTH
from litestar_payguard.services.webhooks.outbound.endpoint_state import disable_endpoint
from litestar_payguard.services.webhooks.outbound.schedule import retry_after_delay, retry_delay

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.services.webhooks.outbound.transport import SendResult

__all__ = (
    "GONE_REASON",
    "SAFE_RESPONSE_HEADERS",
    "Attempt",
    "Step",
    "attempt_log",
    "lock_delivery",
    "lock_endpoint",
    "record_attempt",
    "record_attempts",
)

SAFE_RESPONSE_HEADERS = frozenset(
    {"content-type", "content-length", "date", "retry-after", "server", "x-request-id", "request-id", "via"}
)
"""Response headers kept in the delivery log; the rest (cookies, tokens a receiver might echo) are dropped."""
GONE_REASON = "The endpoint answered 410 Gone."
_STRETCHED = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class Attempt:
    """A delivery taken for one attempt, read under its lock so no ORM object outlives the transaction."""

    delivery_id: UUID
    endpoint_id: UUID
    event_id: UUID
    number: int
    trigger: AttemptTrigger
    lease_until: datetime
    url: str
    test_mode: bool
    body: bytes
    secrets: tuple[str, ...]
    unreadable: str | None = None
    """Why the endpoint's signing secrets cannot be opened (then ``secrets`` is empty and nothing is sent)."""
    trace_context: dict[str, str] | None = None
    """The trace context its event was written in: the attempt's span continues that trace."""


@dataclass(frozen=True, slots=True)
class Step:
    """Where a delivery stands after a step.

    Attributes:
        status: Its status (``None``: no such delivery).
        next_at: When a worker should take it up again; ``None`` when nothing more is due.
    """

    status: DeliveryStatus | None
    next_at: datetime | None = None


async def lock_delivery(db: AsyncSession, delivery_id: UUID) -> tuple[WebhookDelivery, WebhookEndpoint] | None:
    """Lock a delivery and its endpoint, the endpoint first.

    Everything that changes deliveries locks in this order (an endpoint disabled, deleted or changed cancels its
    pending deliveries under the endpoint's lock), so two transactions never wait for each other in a ring.
    """
    endpoint_id = await db.scalar(select(WebhookDelivery.endpoint_id).where(WebhookDelivery.id == delivery_id))
    if endpoint_id is None:
        return None
    endpoint = await lock_endpoint(db, endpoint_id)
    delivery = await db.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update())
    if endpoint is None or delivery is None:
        return None
    return delivery, endpoint


async def lock_endpoint(db: AsyncSession, endpoint_id: UUID) -> WebhookEndpoint | None:
    """Lock an endpoint's row (before any of its deliveries: :func:`lock_delivery`)."""
    endpoint: WebhookEndpoint | None = await db.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).with_for_update()
    )
    return endpoint


async def record_attempt(
    db: AsyncSession, config: PayGuardConfig, attempt: Attempt, result: SendResult, now: datetime
) -> Step:
    """Store the attempt and apply its outcome to the delivery and the endpoint; the caller commits."""
    (step,) = await record_attempts(db, config, [(attempt, result)], now)
    return step


async def record_attempts(
    db: AsyncSession, config: PayGuardConfig, sent: Sequence[tuple[Attempt, SendResult]], now: datetime
) -> list[Step]:
    """Store attempts of one endpoint's deliveries, made together, and apply their outcomes; the caller commits.

    The endpoint is locked, then the deliveries in one statement. Where the steps stand is returned in the
    order of ``sent``. An endpoint disabled by one of them (a 410, or failing too long) leaves none of its
    deliveries pending.
    """
    endpoint = await lock_endpoint(db, sent[0][0].endpoint_id)
    assert endpoint is not None  # endpoints are only ever soft-deleted
    ids = [attempt.delivery_id for attempt, _ in sent]
    deliveries = {
        row.id: row
        for row in await db.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).with_for_update())
    }
    for attempt, result in sent:
        delivery = deliveries[attempt.delivery_id]  # deliveries are never deleted while their events are kept
        db.add(WebhookAttempt(**attempt_log(attempt, result, now)))
        if delivery.lease_until == attempt.lease_until:  # else the lease ran out and another attempt took it over
            await _apply(db, config, (attempt, result), (delivery, endpoint), now)
    if not endpoint.enabled:  # a disabled endpoint keeps no pending delivery (see cancel_pending_deliveries)
        for delivery in deliveries.values():
            if delivery.status is DeliveryStatus.PENDING:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.CANCELLED, None
    await db.flush()
    return [Step(deliveries[id_].status, deliveries[id_].next_attempt_at) for id_ in ids]


async def _apply(
    db: AsyncSession,
    config: PayGuardConfig,
    sent: tuple[Attempt, SendResult],
    rows: tuple[WebhookDelivery, WebhookEndpoint],
    now: datetime,
) -> None:
    """What the attempt's answer makes of the delivery (its lease given back) and of the endpoint."""
    (attempt, result), (delivery, endpoint) = sent, rows
    delivery.lease_until = None
    if result.delivered:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.DELIVERED, None
        endpoint.failing_since = None
    elif result.status_code == 410:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        if endpoint.enabled:
            await disable_endpoint(db, config.clock, endpoint, GONE_REASON)
    else:
        _failed(config, attempt, result, delivery, now)
        await _maybe_disable(db, config, endpoint, now)


def _failed(
    config: PayGuardConfig, attempt: Attempt, result: SendResult, delivery: WebhookDelivery, now: datetime
) -> None:
    """Schedule the next attempt of a failed scheduled one, or mark the delivery failed."""
    delay = None
    if attempt.trigger is AttemptTrigger.SCHEDULED:
        schedule = (
            config.webhook_test_retry_schedule_seconds if attempt.test_mode else config.webhook_retry_schedule_seconds
        )
        delay = retry_delay(attempt.number, schedule, jitter=config.webhook_retry_jitter)
    if delay is not None and result.status_code in _STRETCHED:
        delay = retry_after_delay(delay, _header(result, "retry-after"), now)
    if delay is None:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, now + delay


async def _maybe_disable(db: AsyncSession, config: PayGuardConfig, endpoint: WebhookEndpoint, now: datetime) -> None:
    """Start or go on counting the endpoint's failing time; past the limit, disable it."""
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        return
    limit = timedelta(seconds=config.webhook_disable_after_seconds)
    if endpoint.enabled and now - endpoint.failing_since >= limit:
        days = config.webhook_disable_after_seconds / 86_400
        reason = f"Every delivery failed for {days:g} days (since {endpoint.failing_since.isoformat()})."
        await disable_endpoint(db, config.clock, endpoint, reason)


def _header(result: SendResult, name: str) -> str | None:
    return next((value for key, value in result.headers if key.lower() == name), None)


def attempt_log(attempt: Attempt, result: SendResult, now: datetime) -> dict[str, Any]:
    """The log record of the attempt, as the columns of its :class:`WebhookAttempt`: never a secret."""
    duration = timedelta(seconds=result.duration_seconds)
    return {
        "delivery_id": attempt.delivery_id,
        "number": attempt.number,
        "trigger": attempt.trigger,
        "started_at": now - duration,
        "duration_ms": round(result.duration_seconds * 1000),
        "response_status": result.status_code,
        "response_headers": {
            key.lower(): value for key, value in result.headers if key.lower() in SAFE_RESPONSE_HEADERS
        },
        "response_body": _text(result.body.decode("utf-8", "replace")[:RESPONSE_BODY_LENGTH]) if result.body else None,
        "error_kind": result.error_kind,
        "error_detail": _text(clip(result.detail, TEXT_LENGTH)),
    }


def _text(value: str | None) -> str | None:
    """``value`` as a text column can hold it: Postgres refuses NUL, so a receiver's NUL is shown as U+FFFD."""
    return None if value is None else value.replace("\x00", "\ufffd")
