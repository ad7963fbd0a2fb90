"""Pending-payment schemas: what a customer has open, and whether a new payment can proceed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta

from litestar_payguard.models import PaymentStatus
from litestar_payguard.schemas.base import CamelStruct, InputStruct
from litestar_payguard.schemas.sessions import BundleId, PlanName, Session

__all__ = (
    "CanProceed",
    "CanProceedRequest",
    "CleanupResult",
    "Conflict",
    "PendingAction",
    "PendingList",
    "PendingPayment",
    "PendingSummary",
    "SessionOpened",
)


class PendingAction(CamelStruct):
    """A way out for a pending payment: an HTTP call the client can make."""

    method: str
    url: str
    label: str


class PendingPayment(CamelStruct):
    """An open payment of the customer."""

    id: UUID
    session_id: UUID | None
    bundle_id: str
    plan_name: str | None
    amount: int
    currency: str
    status: PaymentStatus
    created_at: datetime
    age_minutes: int
    time_remaining_minutes: int
    """Minutes until it stops blocking its bundle (0 once stale)."""
    stale: bool
    actions: dict[str, PendingAction]


class Conflict(PendingPayment):
    """An open payment that blocks a new one."""

    type: Annotated[str, Meta(description="same_bundle")] = "same_bundle"


class PendingSummary(CamelStruct):
    """Counts of the customer's open payments."""

    total: int
    active: int
    stale: int


class PendingList(CamelStruct):
    """The customer's open payments."""

    pending_payments: list[PendingPayment]
    summary: PendingSummary


class CanProceedRequest(InputStruct):
    """Would a payment for this bundle be accepted?"""

    bundle_id: BundleId
    plan_name: PlanName | None = None


class CanProceed(CamelStruct):
    """The answer, without creating anything."""

    can_proceed: bool
    message: str
    conflicts: list[Conflict]
    recommendation: str | None
    warnings: list[PendingPayment]


class CleanupResult(CamelStruct):
    """How many of the customer's stale payments were expired, and the run that recorded it."""

    expired: int
    run_id: UUID | None
    """The cleanup run recording it; ``null`` when nothing was stale (no run is recorded then)."""


class SessionOpened(Session):
    """A new session, and the customer's open payments for other bundles (they do not block it)."""

    client_secret: str
    """Lets a checkout page act on this session alone (send it in the ``PayGuard-Client-Secret`` header, never in
    a URL). Shown this once: only its hash is stored."""
    checkout_url: str
    """The hosted checkout page, with the client secret in the URL fragment (browsers never send a fragment)."""

    warnings: list[PendingPayment] = []  # noqa: RUF012  # msgspec copies mutable defaults
