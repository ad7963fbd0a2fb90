"""The catalogue of event types payguard sends to merchants, and the filters endpoints choose them with.

Every type the outbox writers emit for a merchant is here: ``payment.<change>`` (the payment service, the
processing fast path, the stale-payment expiry), ``refund.<change>`` (the refund ledger), ``session.<event>`` (the
session store), plus ``webhook.test`` and ``webhook_endpoint.disabled`` of the webhooks themselves. The operator's
``payguard.cleanup.large`` is not: it belongs to no merchant and is never delivered to one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec

from litestar_payguard.exceptions import InvalidRequestError
from litestar_payguard.models import PaymentMode, PaymentStatus, RefundStatus, SessionEventType, SessionStatus
from litestar_payguard.schemas import Payment, PaymentBrief, Session
from litestar_payguard.schemas.merchant import Refund
from litestar_payguard.schemas.webhooks import WebhookEndpoint, WebhookTest

__all__ = (
    "ENDPOINT_DISABLED",
    "EVENT_TYPES",
    "TEST_EVENT",
    "WILDCARD",
    "EventTypeInfo",
    "EventTypeUnknownError",
    "event_type_names",
    "matches",
    "validate_filters",
)

TEST_EVENT = "webhook.test"
"""What ``POST /v1/webhook-endpoints/{id}/test`` sends."""
ENDPOINT_DISABLED = "webhook_endpoint.disabled"
"""Written when payguard disables an endpoint (a 410 answer, or failing for too long)."""
WILDCARD = ".*"
"""How a filter entry ends that takes every type of a prefix (``refund.*``)."""


class EventTypeUnknownError(InvalidRequestError):
    """An endpoint's filter names a type payguard does not send."""

    code = "WEBHOOK_EVENT_TYPE_UNKNOWN"
    title = "Unknown event type"


@dataclass(frozen=True, slots=True)
class EventTypeInfo:
    """One type of the catalogue."""

    type: str
    description: str
    example: msgspec.Struct
    """An example of the event's ``data``, built from the struct the outbox writer stores."""


_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_PAYMENT_ID = UUID("0195a1b2-0000-7000-8000-000000000001")


def _payment(status: PaymentStatus, **changes: object) -> Payment:
    example = Payment(
        id=_PAYMENT_ID,
        status=status,
        customer_id="cust_42",
        bundle_id="pro-monthly",
        plan_name="Pro",
        amount=49_900,
        currency="INR",
        amount_refunded=0,
        mode=PaymentMode.TEST,
        gateway="simulated",
        gateway_payment_id=None if status is PaymentStatus.PENDING else "pay_29QQoUBi66xm2f",
        failure_code="card_declined" if status is PaymentStatus.FAILED else None,
        failure_message="The card was declined." if status is PaymentStatus.FAILED else None,
        metadata={"plan": "pro"},
        created_at=_AT,
        order_id="order-1001",
        method="card",
    )
    return msgspec.structs.replace(example, **changes)


def _refund(status: RefundStatus) -> Refund:
    return Refund(
        id=UUID("0195a1b2-0000-7000-8000-000000000002"),
        payment_id=_PAYMENT_ID,
        amount=10_000,
        currency="INR",
        status=status,
        reason="Customer asked",
        gateway_refund_id=None if status is RefundStatus.PENDING else "rfnd_FP8QHiV938haTz",
        failure_code="gateway_refused" if status is RefundStatus.FAILED else None,
        failure_message="Refunded too late." if status is RefundStatus.FAILED else None,
        created_at=_AT,
        processed_at=None if status is RefundStatus.PENDING else _AT + timedelta(seconds=3),
    )


_SESSION_STATUS = {
    SessionEventType.CREATED: SessionStatus.ACTIVE,
    SessionEventType.INTERRUPTED: SessionStatus.INTERRUPTED,
    SessionEventType.RESUMED: SessionStatus.ACTIVE,
    SessionEventType.SUBMITTED: SessionStatus.ACTIVE,
    SessionEventType.COMPLETED: SessionStatus.COMPLETED,
    SessionEventType.CANCELLED: SessionStatus.CANCELLED,
    SessionEventType.FAILED: SessionStatus.FAILED,
    SessionEventType.EXPIRED: SessionStatus.EXPIRED,
}


def _session(event: SessionEventType) -> Session:
    status = _SESSION_STATUS[event]
    resumed = event is SessionEventType.RESUMED
    payment = PaymentStatus.SUCCEEDED if status is SessionStatus.COMPLETED else PaymentStatus.PENDING
    return Session(
        id=UUID("0195a1b2-0000-7000-8000-000000000003"),
        status=status,
        bundle_id="pro-monthly",
        plan_name="Pro",
        attempt=2 if resumed else 1,
        max_attempts=3,
        attempt_deadline=_AT + timedelta(minutes=10),
        expires_at=_AT + timedelta(minutes=30),
        poll_interval_ms=2000,
        last_interruption=None,
        payment=PaymentBrief(id=_PAYMENT_ID, amount=49_900, currency="INR", status=payment),
        metadata={"plan": "pro"},
        created_at=_AT,
        ended_at=_AT + timedelta(minutes=2)
        if status not in {SessionStatus.ACTIVE, SessionStatus.INTERRUPTED}
        else None,
        success_url="https://shop.example/orders/1042",
        cancel_url="https://shop.example/cart",
        retry_at=_AT + timedelta(seconds=2) if status in {SessionStatus.ACTIVE, SessionStatus.INTERRUPTED} else None,
    )


_ENDPOINT = WebhookEndpoint(
    id=UUID("0195a1b2-0000-7000-8000-000000000004"),
    url="https://shop.example/payguard/webhooks",
    event_types=["payment.*"],
    description="Order fulfilment",
    enabled=False,
    disabled_reason="The endpoint answered 410 Gone.",
    disabled_at=_AT,
    created_at=_AT - timedelta(days=30),
    updated_at=_AT,
)

_PAYMENT_CHANGES = {
    "created": "A payment was created (``pending``).",
    **{
        status.value: f"A payment became ``{status.value}``."
        for status in PaymentStatus
        if status is not PaymentStatus.PENDING
    },
    "attention_required": "payguard gave up on a payment's fulfilment hook: a person must look.",
    "attention_resolved": "A person cleared a payment's attention flag.",
}
_PAYMENT_STATUS_OF = {
    "created": PaymentStatus.PENDING,
    "attention_required": PaymentStatus.PROCESSING,
    "attention_resolved": PaymentStatus.SUCCEEDED,
    **{status.value: status for status in PaymentStatus},
}
_REFUNDED = {PaymentStatus.PARTIALLY_REFUNDED: 10_000, PaymentStatus.REFUNDED: 49_900}
_REFUND_CHANGES = {
    "created": (RefundStatus.PENDING, "A refund was admitted (``pending``); a worker executes it."),
    "processed": (RefundStatus.PROCESSED, "The gateway gave the money back."),
    "failed": (RefundStatus.FAILED, "The gateway refused the refund."),
}


def _catalogue() -> tuple[EventTypeInfo, ...]:
    types: list[EventTypeInfo] = []
    for change, description in _PAYMENT_CHANGES.items():
        status = _PAYMENT_STATUS_OF[change]
        example = _payment(status, amount_refunded=_REFUNDED.get(status, 0))
        if change == "attention_required":
            example = msgspec.structs.replace(example, needs_attention=True, attention_reason="Fulfilment hook failed.")
        types.append(EventTypeInfo(f"payment.{change}", description, example))
    types.extend(
        EventTypeInfo(f"refund.{change}", description, _refund(status))
        for change, (status, description) in _REFUND_CHANGES.items()
    )
    types.extend(
        EventTypeInfo(f"session.{event.value}", f"A checkout session was {event.value}.", _session(event))
        for event in SessionEventType
    )
    types.append(
        EventTypeInfo(
            TEST_EVENT,
            "Sent on request to one endpoint, to check that it receives and verifies deliveries.",
            WebhookTest(endpoint_id=_ENDPOINT.id, message="A test event from payguard."),
        )
    )
    types.append(
        EventTypeInfo(
            ENDPOINT_DISABLED,
            "payguard disabled one of the merchant's endpoints (a 410 answer, or every delivery failing too long).",
            _ENDPOINT,
        )
    )
    return tuple(types)


EVENT_TYPES: tuple[EventTypeInfo, ...] = _catalogue()
"""Every type payguard sends to merchants, in a stable order."""
_NAMES = frozenset(info.type for info in EVENT_TYPES)
_PREFIXES = frozenset(name.split(".", 1)[0] for name in _NAMES)


def event_type_names() -> list[str]:
    """The names of every type, in the catalogue's order."""
    return [info.type for info in EVENT_TYPES]


def matches(filters: list[str], event_type: str) -> bool:
    """Whether an endpoint with these filters receives an event of this type (no filter: every type)."""
    if not filters:
        return True
    for entry in filters:
        if entry.endswith(WILDCARD):
            if event_type.startswith(entry[: -len(WILDCARD)] + "."):
                return True
        elif entry == event_type:
            return True
    return False


def validate_filters(filters: list[str] | None) -> list[str]:
    """The filters without duplicates, in their order.

    Raises:
        EventTypeUnknownError: An entry is neither a known type nor ``<known prefix>.*``; ``knownTypes`` lists them.
    """
    unknown = [
        entry
        for entry in filters or []
        if not (entry in _NAMES or (entry.endswith(WILDCARD) and entry[: -len(WILDCARD)] in _PREFIXES))
    ]
    if unknown:
        msg = (
            f"Unknown event types: {', '.join(unknown)}. Use a type of GET /v1/event-types, or a prefix like refund.*."
        )
        raise EventTypeUnknownError(
            msg, extra={"field": "eventTypes", "unknown": unknown, "knownTypes": sorted(_NAMES)}
        )
    return list(dict.fromkeys(filters or []))
