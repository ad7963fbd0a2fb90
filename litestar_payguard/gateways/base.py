"""The contract between payguard and a payment gateway.

Every call that moves money carries an idempotency key derived from payguard's ids (``payment:<id>``,
``refund:<id>``): an adapter must make repeated calls with one key act once, so a job retried after a crash can
never charge or refund twice. Adapters raise :class:`~litestar_payguard.exceptions.GatewayError` when the
gateway gave no usable answer (unreachable, 5xx, nonsense), and return an outcome whenever it answered; an
order the gateway refuses raises :class:`~litestar_payguard.exceptions.GatewayRefusedError` (not retried).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable
from uuid import UUID

__all__ = (
    "BrowserCheckout",
    "ChargeRequest",
    "Gateway",
    "GatewayOrder",
    "GatewayStatus",
    "GatewayWebhook",
    "OrderRequest",
    "PaymentOutcome",
    "RefundOutcome",
    "RefundRequest",
    "WebhookKind",
    "browser_checkout",
)


class GatewayStatus(StrEnum):
    """Where a payment or refund stands at the gateway."""

    PENDING = "pending"
    """Started, not final yet (a UPI collect request waiting for the customer, a refund being processed)."""
    SUCCEEDED = "succeeded"
    """The money moved: captured, or refunded."""
    FAILED = "failed"
    """It will not move."""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """Open an order at the gateway for one of our payments.

    Attributes:
        payment_id: Our payment id (sent as the order's receipt).
        amount: Amount in minor units.
        currency: ISO 4217 code.
        idempotency_key: ``payment:<id>:order``.
        notes: Key-value notes stored with the order.
    """

    payment_id: UUID
    amount: int
    currency: str
    idempotency_key: str
    notes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GatewayOrder:
    """An order the gateway opened."""

    order_id: str


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """Make the money of an order move: capture the customer's payment, or start one for the method.

    Attributes:
        payment_id: Our payment id.
        amount: Amount in minor units.
        currency: ISO 4217 code.
        gateway_order_id: The order from :meth:`Gateway.create_order`.
        gateway_payment_id: The gateway's payment the customer made in the browser (checkout), if any.
        method: ``card``, ``upi``, … for a payment the server starts (the merchant API).
        method_details: Method-specific fields (``vpa`` for UPI).
        idempotency_key: ``payment:<id>``: charging again with it must not charge again.
    """

    payment_id: UUID
    amount: int
    currency: str
    gateway_order_id: str
    idempotency_key: str
    gateway_payment_id: str | None = None
    method: str | None = None
    method_details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """The gateway's answer about a payment.

    Attributes:
        status: Final (succeeded, failed) or not yet (pending).
        gateway_payment_id: The gateway's reference, once it has one.
        failure_code: Machine-readable reason when failed.
        failure_message: Human-readable reason when failed.
    """

    status: GatewayStatus
    gateway_payment_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the money was captured."""
        return self.status is GatewayStatus.SUCCEEDED


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """Give (part of) a captured payment back.

    Attributes:
        refund_id: Our refund id.
        payment_id: Our payment id.
        gateway_payment_id: The gateway's reference of the captured payment.
        amount: Amount in minor units.
        currency: ISO 4217 code.
        reason: Free text from the merchant.
        idempotency_key: ``refund:<id>``: refunding again with it must not refund again.
    """

    refund_id: UUID
    payment_id: UUID
    gateway_payment_id: str
    amount: int
    currency: str
    idempotency_key: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    """The gateway's answer about a refund."""

    status: GatewayStatus
    gateway_refund_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class WebhookKind(StrEnum):
    """What an inbound gateway webhook tells payguard, whatever the gateway calls it."""

    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_AUTHORIZED = "payment_authorized"
    """The customer paid and the money waits to be captured (accounts with manual capture)."""
    PAYMENT_FAILED = "payment_failed"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    OTHER = "other"
    """An event payguard does not act on (stored for the record, acknowledged)."""


@dataclass(frozen=True, slots=True)
class GatewayWebhook:
    """An inbound webhook, verified and parsed.

    payguard keeps each event once by a hash of the raw body, which the signature covers: an adapter must verify
    a signature over the whole body (a header that the signature does not cover proves nothing).

    Attributes:
        event_id: The gateway's id of the event, kept for reference (it may come from an unsigned header).
        event_type: The gateway's own name of the event (``payment.captured``).
        kind: What it means to payguard.
        gateway_payment_id: The payment it is about.
        gateway_order_id: The order it is about, when known.
        gateway_refund_id: The refund it is about (refund events).
        amount: Amount of the payment or refund, minor units.
        failure_code: Why a payment or refund failed.
        failure_message: Human-readable reason.
        refund_receipt: The receipt the refund was created with (our refund id), when known.
        created_at: When the gateway created the event, from the signed body; an event older than
            ``PayGuardConfig.gateway_webhook_max_age_seconds`` is refused. ``None`` when the gateway does not say.
    """

    event_id: str
    event_type: str
    kind: WebhookKind
    gateway_payment_id: str | None = None
    gateway_order_id: str | None = None
    gateway_refund_id: str | None = None
    amount: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    refund_receipt: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BrowserCheckout:
    """How the hosted checkout page pays with a gateway whose checkout runs in the browser.

    The page loads ``script_url`` and opens the gateway's checkout for the session's order with ``key_id`` (a
    public key); the page's Content-Security-Policy lets it reach ``origins`` (the script's, the checkout's frames
    and calls) and nothing else beyond payguard.

    Attributes:
        script_url: The gateway's checkout script (``https://checkout.razorpay.com/v1/checkout.js``).
        key_id: The public key the checkout is opened with.
        origins: Every origin the checkout loads scripts, frames, styles, images, fonts or data from.
        inline_styles: The script styles its window with ``<style>`` elements or ``style`` attributes (the page's
            policy then allows inline styles; never inline scripts).
    """

    script_url: str
    key_id: str
    origins: tuple[str, ...]
    inline_styles: bool = False


def browser_checkout(gateway: object) -> BrowserCheckout | None:
    """The gateway's browser checkout (its ``browser_checkout`` attribute), or ``None``: the page's test-mode panel.

    An optional part of the adapter protocol: an adapter without it is paid from the page's test-mode panel, which
    reports a payment reference the adapter then confirms.
    """
    found = getattr(gateway, "browser_checkout", None)
    return found if isinstance(found, BrowserCheckout) else None


@runtime_checkable
class Gateway(Protocol):
    """A payment gateway adapter."""

    name: str
    """Short name, used in stored payments and in the inbound webhook route (``/gateways/<name>/webhooks``)."""
    server_methods: frozenset[str]
    """Methods a payment started by the merchant's server (``POST /v1/payments``, no customer at a browser) can
    use with this gateway; the merchant API refuses the others."""

    @property
    def live(self) -> bool:
        """Whether it moves real money (live keys); a test gateway must not, a live gateway must.

        ``PayGuardConfig`` checks it at start-up: test-mode merchants never reach a live gateway.
        """
        ...

    async def create_order(self, request: OrderRequest) -> GatewayOrder:
        """Open an order for one of our payments (the customer pays against it).

        Raises:
            GatewayRefusedError: The gateway refused the order (amount, currency): the payment cannot be made.
        """
        ...

    async def charge(self, request: ChargeRequest) -> PaymentOutcome:
        """Confirm and capture the order's payment, or start one for ``request.method``.

        Must be idempotent per order: when the gateway already has a payment for the order, report (and, when
        authorized, capture) that one instead of starting another.
        """
        ...

    async def fetch_status(self, gateway_order_id: str, gateway_payment_id: str | None) -> PaymentOutcome | None:
        """Ask where the order's payment stands; ``None`` when the gateway has no payment for it at all."""
        ...

    async def refund(self, request: RefundRequest) -> RefundOutcome:
        """Refund (part of) a captured payment; idempotent per ``request.idempotency_key``."""
        ...

    def verify_client_signature(self, gateway_order_id: str, gateway_payment_id: str, signature: str | None) -> bool:
        """Check the signature the gateway's checkout gave the browser, against our stored order id."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayWebhook:
        """Verify an inbound webhook's signature on the raw body and parse it.

        Raises:
            InvalidSignatureError: The signature is missing or wrong, or the body is not an event.
        """
        ...
