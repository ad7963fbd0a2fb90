"""Schemas of the merchant API: payments started by the server, refunds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from msgspec import Meta

from litestar_payguard.models import Merchant as MerchantModel
from litestar_payguard.models import Refund as RefundModel
from litestar_payguard.models import RefundStatus
from litestar_payguard.schemas.base import CamelStruct, InputStruct, whole
from litestar_payguard.schemas.payments import Payment
from litestar_payguard.schemas.sessions import NO_NUL, Amount, BundleId, CurrencyCode, CustomerId, Metadata, PlanName

__all__ = (
    "AttentionResolution",
    "MerchantAccount",
    "MerchantAccountUpdate",
    "PaymentCreate",
    "PaymentMethod",
    "PaymentPage",
    "Refund",
    "RefundCreate",
    "RefundList",
    "RefundPage",
    "merchant_view",
    "refund_view",
)

PaymentMethod = Literal["card", "upi", "netbanking", "wallet"]
OrderReference = Annotated[str, Meta(min_length=1, max_length=128, pattern=NO_NUL)]
Vpa = Annotated[str, Meta(min_length=3, max_length=100, pattern=whole(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+"))]
Reason = Annotated[str, Meta(max_length=500, pattern=NO_NUL)]


class PaymentCreate(InputStruct):
    """Start a payment from the merchant's server; a worker executes it."""

    json_schema_extra: ClassVar[dict[str, Any]] = {
        "if": {"properties": {"method": {"const": "upi"}}},
        "then": {"required": ["vpa"], "properties": {"vpa": {"type": "string"}}},
        "else": {"properties": {"vpa": {"type": "null"}}},
    }
    """A UPI payment needs ``vpa``; another method takes none (the service's rule, in the OpenAPI document)."""

    order_id: OrderReference
    """The merchant's reference for what is paid."""
    bundle_id: BundleId
    customer_id: CustomerId
    amount: Amount
    """Minor units (cents, paise)."""
    currency: CurrencyCode
    method: PaymentMethod
    vpa: Vpa | None = None
    """UPI address; required when ``method`` is ``upi``."""
    plan_name: PlanName | None = None
    metadata: Metadata = {}  # noqa: RUF012  # msgspec copies mutable defaults


class AttentionResolution(InputStruct):
    """How a person dealt with a flagged payment at the gateway (``POST /admin/payments/{id}/resolve``)."""

    status: Literal["succeeded", "failed"] | None = None
    """Required for a payment still ``processing``, which must end: ``succeeded`` when its order was fulfilled by
    hand (the fulfilment hook does not run), ``failed`` when no money stays with the merchant (never taken, or
    given back at the gateway). Not accepted for a payment that already has its final status."""


class PaymentPage(CamelStruct):
    """One page of payments, newest first; pass ``nextCursor`` as ``cursor`` for the next one."""

    items: list[Payment]
    limit: int
    next_cursor: str | None


class RefundCreate(InputStruct):
    """Refund a payment, whole (no amount) or in part."""

    amount: Amount | None = None
    """Minor units; absent means everything not yet refunded."""
    reason: Reason | None = None


class Refund(CamelStruct):
    """A refund."""

    id: UUID
    payment_id: UUID
    amount: int
    currency: str
    status: RefundStatus
    reason: str | None
    gateway_refund_id: str | None
    failure_code: str | None
    failure_message: str | None
    created_at: datetime
    processed_at: datetime | None


class RefundList(CamelStruct):
    """A payment's refunds, oldest first."""

    items: list[Refund]


class RefundPage(CamelStruct):
    """One page of a merchant's refunds, newest first; pass ``nextCursor`` as ``cursor`` for the next one."""

    items: list[Refund]
    limit: int
    next_cursor: str | None


def refund_view(refund: RefundModel) -> Refund:
    """Render a refund."""
    return Refund(
        id=refund.id,
        payment_id=refund.payment_id,
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status,
        reason=refund.reason,
        gateway_refund_id=refund.gateway_refund_id,
        failure_code=refund.failure_code,
        failure_message=refund.failure_message,
        created_at=refund.created_at,
        processed_at=refund.processed_at,
    )


Origin = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=255,
        pattern=whole(r"[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f/?#@]+/?"),
        description="An origin: a scheme, a host and an optional port (https://shop.example).",
    ),
]


class MerchantAccount(CamelStruct):
    """The merchant, as its own API sees it."""

    id: UUID
    name: str
    test_mode: bool
    allowed_origins: list[str]
    """Where its sessions' return URLs may lead, and the pages that may embed its checkout page."""


class MerchantAccountUpdate(InputStruct):
    """What a merchant may change of itself."""

    allowed_origins: Annotated[list[Origin], Meta(max_length=50)]
    """Replaces the list (normalised: lower-case host, default port left out)."""


def merchant_view(merchant: MerchantModel) -> MerchantAccount:
    """Render the merchant for its own API."""
    return MerchantAccount(
        id=merchant.id,
        name=merchant.name,
        test_mode=merchant.test_mode,
        allowed_origins=list(merchant.allowed_origins),
    )
