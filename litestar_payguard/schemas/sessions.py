"""Checkout session schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta

from litestar_payguard.currencies import CURRENCY_PATTERN
from litestar_payguard.models import (
    URL_LENGTH,
    CheckoutSession,
    InterruptKind,
    SessionSnapshot,
    SessionState,
    SessionStatus,
)
from litestar_payguard.schemas.base import CamelStruct, InputStruct, validated, whole
from litestar_payguard.schemas.payments import PaymentBrief, payment_brief

__all__ = (
    "ActiveSession",
    "AttemptSummary",
    "CheckoutSessionCreate",
    "Interruption",
    "Session",
    "SessionComplete",
    "SessionCreate",
    "SessionInterrupt",
    "SessionRequest",
    "SessionSummary",
    "active_session",
    "session_view",
    "validated",
)

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer every JSON client represents exactly; amounts are capped by the schema here and by
``PayGuardConfig.max_amount`` in the service."""

NO_NUL = r"^[^\x00]*$"
"""Free text may hold anything but NUL, which Postgres cannot store in text columns."""

BundleId = Annotated[str, Meta(min_length=1, max_length=128, pattern=whole(r"[A-Za-z0-9][A-Za-z0-9._:/-]*"))]
PlanName = Annotated[str, Meta(min_length=1, max_length=128, pattern=NO_NUL)]
MONEY = "payguard_money"
"""``Meta.extra`` key of an amount of money: the OpenAPI document caps it at ``PayGuardConfig.max_amount`` too."""

# Three letters for the schema (an unknown code is the service's ``UNSUPPORTED_CURRENCY``); the document lists them.
CurrencyCode = Annotated[
    str,
    Meta(
        pattern=whole("[A-Za-z]{3}"),
        description="An ISO 4217 code of a currency with minor units, in any case.",
        extra_json_schema={"pattern": CURRENCY_PATTERN},
    ),
]
Amount = Annotated[int, Meta(gt=0, le=MAX_SAFE_INTEGER, extra={MONEY: True})]
MetadataKey = Annotated[str, Meta(min_length=1, max_length=40, pattern=NO_NUL)]
MetadataValue = Annotated[str, Meta(max_length=500, pattern=NO_NUL)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], Meta(max_length=20)]
Detail = Annotated[str, Meta(max_length=500, pattern=NO_NUL)]
GatewayReference = Annotated[str, Meta(min_length=1, max_length=255, pattern=NO_NUL)]
Signature = Annotated[str, Meta(min_length=1, max_length=512, pattern=NO_NUL)]
ReturnUrl = Annotated[
    str,
    Meta(
        max_length=URL_LENGTH,
        pattern=whole(r"https?://[^\x00-\x20\x7f]+"),
        description="An absolute http(s) URL on one of the merchant's allowed origins.",
    ),
]
CustomerId = Annotated[str, Meta(min_length=1, max_length=255, pattern=NO_NUL)]


class SessionCreate(InputStruct):
    """Open a checkout session for a bundle at an amount the server decided (the host's code, the merchant API)."""

    bundle_id: BundleId
    amount: Amount
    """Minor units (cents, paise)."""
    currency: CurrencyCode
    """ISO 4217 code, any case."""
    plan_name: PlanName | None = None
    metadata: Metadata = {}  # noqa: RUF012  # msgspec copies mutable defaults
    success_url: ReturnUrl | None = None
    """Where the checkout page sends the customer once paid."""
    cancel_url: ReturnUrl | None = None
    """Where the checkout page sends a customer who gives up."""


class SessionRequest(InputStruct):
    """A customer's request for a checkout session: what to buy; the server's pricing hook sets the price."""

    bundle_id: BundleId
    plan_name: PlanName | None = None
    """The plan chosen, passed to the pricing hook; the price's display name when absent."""
    amount: Amount | None = None
    """The amount the client expects to pay (minor units): another price answers 409 ``PRICE_CHANGED``. Required
    only where the host trusts client prices."""
    currency: CurrencyCode | None = None
    """The currency the client expects (ISO 4217, any case), checked like ``amount``."""
    metadata: Metadata = {}  # noqa: RUF012  # msgspec copies mutable defaults
    success_url: ReturnUrl | None = None
    """Where the checkout page sends the customer once paid (an allowed origin of the merchant)."""
    cancel_url: ReturnUrl | None = None
    """Where the checkout page sends a customer who gives up."""


class CheckoutSessionCreate(InputStruct):
    """The merchant API's request for a checkout session for one of its customers."""

    customer_id: CustomerId
    """The merchant's id of the customer who pays (what the host's sign-in would say)."""
    bundle_id: BundleId
    plan_name: PlanName | None = None
    amount: Amount | None = None
    """The price in minor units, with ``currency``; without both, the host's pricing hook prices the bundle."""
    currency: CurrencyCode | None = None
    metadata: Metadata = {}  # noqa: RUF012  # msgspec copies mutable defaults
    success_url: ReturnUrl | None = None
    cancel_url: ReturnUrl | None = None


class SessionInterrupt(InputStruct):
    """Report that the current attempt stopped."""

    kind: InterruptKind
    detail: Detail | None = None


class SessionComplete(InputStruct):
    """The client's report of a payment made at the gateway."""

    gateway_payment_id: GatewayReference
    signature: Signature | None = None


class Interruption(CamelStruct):
    """The last interruption of a session."""

    kind: InterruptKind
    detail: str | None
    at: datetime


class Session(CamelStruct):
    """A checkout session as the client polls it."""

    id: UUID
    status: SessionStatus
    bundle_id: str
    plan_name: str | None
    attempt: int
    max_attempts: int
    attempt_deadline: datetime
    expires_at: datetime
    poll_interval_ms: int
    last_interruption: Interruption | None
    payment: PaymentBrief
    metadata: dict[str, str]
    created_at: datetime
    ended_at: datetime | None
    success_url: str | None
    cancel_url: str | None
    retry_at: datetime | None
    """When ``resume`` may start the next attempt (the minimum delay after the interruption, or after the start of
    the attempt it would supersede); ``None`` when no attempt is left or the session has ended."""


class AttemptSummary(CamelStruct):
    """One attempt of a session."""

    number: int
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    """``in_progress``, ``interrupted``, ``completed``, ``cancelled``, ``expired`` or ``failed``."""
    interruption_kind: InterruptKind | None
    detail: str | None
    duration_ms: int
    """Up to now while in progress."""


class SessionSummary(CamelStruct):
    """What happened in a session, from its event log."""

    session_id: UUID
    status: SessionStatus
    outcome: str
    """The terminal status, or ``in_progress``."""
    attempts: list[AttemptSummary]
    interruptions: dict[str, int]
    """Count per interruption kind, every kind listed."""
    total_interruptions: int
    started_at: datetime
    ended_at: datetime | None
    total_duration_ms: int
    """Up to now while the session is open."""


class ActiveSession(CamelStruct):
    """An open session, as admins monitor it."""

    id: UUID
    customer_id: str
    status: SessionStatus
    attempt: int
    max_attempts: int
    age_seconds: int
    created_at: datetime
    expires_at: datetime
    last_interruption: Interruption | None
    payment: PaymentBrief


def _interruption(session: CheckoutSession | SessionSnapshot | SessionState) -> Interruption | None:
    if session.interrupt_kind is None or session.interrupted_at is None:
        return None
    return Interruption(kind=session.interrupt_kind, detail=session.interrupt_detail, at=session.interrupted_at)


def session_view(
    session: CheckoutSession | SessionSnapshot,
    *,
    poll_interval_ms: int,
    retry_at: datetime | None,
    state: SessionState | None = None,
) -> Session:
    """Render a session (an ORM row, or the snapshot polling reads) for its customer.

    ``state`` renders the session as it stood after one of its transitions instead of as it stands now;
    ``retry_at`` is when it may be resumed then (the sessions' rules decide it).
    """
    payment = session.payment
    now: CheckoutSession | SessionSnapshot | SessionState = state or session
    return Session(
        id=session.id,
        status=now.status,
        bundle_id=payment.bundle_id,
        plan_name=payment.plan_name,
        attempt=now.attempt,
        max_attempts=session.max_attempts,
        attempt_deadline=now.attempt_deadline,
        expires_at=session.expires_at,
        poll_interval_ms=poll_interval_ms,
        last_interruption=_interruption(now),
        payment=payment_brief(payment),
        metadata=payment.extra,
        created_at=session.created_at,
        ended_at=now.ended_at,
        success_url=session.success_url,
        cancel_url=session.cancel_url,
        retry_at=retry_at,
    )


def active_session(session: CheckoutSession, *, now: datetime) -> ActiveSession:
    """Render an open session for an admin."""
    return ActiveSession(
        id=session.id,
        customer_id=session.customer_id,
        status=session.status,
        attempt=session.attempt,
        max_attempts=session.max_attempts,
        age_seconds=max(0, int((now - session.created_at).total_seconds())),
        created_at=session.created_at,
        expires_at=session.expires_at,
        last_interruption=_interruption(session),
        payment=payment_brief(session.payment),
    )
