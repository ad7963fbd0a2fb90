"""The Razorpay adapter: orders, server-to-server payments, captures, refunds, signatures and webhooks.

Razorpay's REST API (v1) takes no idempotency key for orders and payments, so every call that moves money first
asks what already happened at the gateway (the order's payments, the payment's refunds) and acts only when
nothing did: a job retried after a crash reports the earlier result instead of charging or refunding again.
A refund also carries ``X-Refund-Idempotency`` (our refund id) with the same body on every try, so a retry whose
first request the refund list does not show yet (the list is eventually consistent) still refunds once.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx

from litestar_payguard.exceptions import GatewayError, GatewayRefusedError
from litestar_payguard.gateways.base import (
    BrowserCheckout,
    ChargeRequest,
    GatewayOrder,
    GatewayStatus,
    GatewayWebhook,
    OrderRequest,
    PaymentOutcome,
    RefundOutcome,
    RefundRequest,
)
from litestar_payguard.gateways.razorpay_entities import (
    MISMATCH,
    error_of,
    has_payment,
    items,
    ok,
    payment_outcome,
    refund_outcome,
    refund_refused,
    select_payment,
)
from litestar_payguard.gateways.razorpay_http import RazorpayHttp
from litestar_payguard.gateways.razorpay_webhooks import checkout_signature, parse_webhook, signatures_match

__all__ = ("RazorpayGateway",)

DEFAULT_BASE_URL: Final = "https://api.razorpay.com"
CHECKOUT_SCRIPT_URL: Final = "https://checkout.razorpay.com/v1/checkout.js"
"""Razorpay Checkout's script, which the hosted checkout page loads."""
CHECKOUT_ORIGINS: Final = ("https://api.razorpay.com", "https://cdn.razorpay.com", "https://lumberjack.razorpay.com")
"""What Razorpay's own Checkout loads besides its script (its frame, its images and fonts, its telemetry), from
Razorpay's documentation of the origins to allow; not verifiable offline."""
TEST_KEY_PREFIX: Final = "rzp_test_"
"""Razorpay's test-mode key ids start with this; live ones with ``rzp_live_``."""
PLACEHOLDER_EMAIL: Final = "customer@example.invalid"
PLACEHOLDER_CONTACT: Final = "+919000090000"
_PAGE = 100
"""Razorpay's largest page."""
_MAX_REFUNDS_LISTED = 10_000
"""Refunds of one payment looked through before refunding (an amount in minor units bounds them anyway)."""
_NOTE_LENGTH = 256
"""Razorpay refuses a ``notes`` value longer than this."""


class RazorpayGateway:
    """A :class:`~litestar_payguard.gateways.base.Gateway` for Razorpay.

    Args:
        key_id: API key id: ``rzp_live_…`` makes a live gateway, ``rzp_test_…`` a test one (:attr:`live`).
        key_secret: API key secret; also signs Checkout's payment signatures.
        webhook_secret: The secret set on the webhook in Razorpay's dashboard.
        base_url: Razorpay's API origin (a fake one in tests).
        checkout_script_url: Razorpay Checkout's script for the hosted checkout page (the fake's in tests); the
            page may reach its origin and ``base_url``'s.
        timeout_seconds: Timeout of each HTTP call.
        client: An HTTP client to reuse (its owner closes it); without one, each operation opens and closes
            its own, so the adapter holds no connection between calls and no event loop.
    """

    __slots__ = ("_http", "_key_secret", "_webhook_secret", "browser_checkout", "live")

    name = "razorpay"
    server_methods = frozenset({"upi"})
    """UPI collect requests only: a card needs its data (PCI DSS), netbanking and wallets a redirect to the bank,
    so those go through Checkout in the customer's browser (a checkout session)."""

    def __init__(
        self,
        key_id: str,
        key_secret: str,
        webhook_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_seconds: float = 15.0,
        client: httpx.AsyncClient | None = None,
        checkout_script_url: str = CHECKOUT_SCRIPT_URL,
    ) -> None:
        if not key_id or not key_secret or not webhook_secret:
            msg = "RazorpayGateway needs a key id, a key secret and a webhook secret"
            raise ValueError(msg)
        if timeout_seconds <= 0:
            msg = "timeout_seconds must be positive"
            raise ValueError(msg)
        self._http = RazorpayHttp(key_id, key_secret, base_url=base_url, timeout_seconds=timeout_seconds, client=client)
        # Only a test key is known not to move money: any other key counts as live, so it cannot be a test gateway.
        self.live = not key_id.startswith(TEST_KEY_PREFIX)
        """Whether the keys are live ones (``rzp_live_…``): anything but a test key (``rzp_test_…``)."""
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret
        origins = dict.fromkeys(_origin(url) for url in (checkout_script_url, base_url))
        if checkout_script_url == CHECKOUT_SCRIPT_URL:  # Razorpay's own, not a fake's
            origins.update(dict.fromkeys(CHECKOUT_ORIGINS))
        self.browser_checkout = BrowserCheckout(
            script_url=checkout_script_url, key_id=key_id, origins=tuple(origins), inline_styles=True
        )
        """What the hosted checkout page loads to pay with Razorpay Checkout."""

    async def create_order(self, request: OrderRequest) -> GatewayOrder:
        """Open a Razorpay order whose receipt is our payment id."""
        body = {
            "amount": request.amount,
            "currency": request.currency,
            "receipt": str(request.payment_id),
            "notes": {**request.notes, "payguard_payment_id": str(request.payment_id)},
        }
        async with self._http.session() as client:
            reply = await self._http.call(client, "POST", "/v1/orders", "create order", body=body)
        if reply.refused:
            code, description = reply.error
            msg = f"Razorpay refused the order: {description}"
            raise GatewayRefusedError(msg, extra={"gatewayCode": code})
        reply = ok(reply, "create order")
        order_id = reply.body.get("id")
        if not isinstance(order_id, str) or not order_id:
            msg = "Razorpay create order answered without an order id"
            raise GatewayError(msg)
        return GatewayOrder(order_id=order_id)

    async def charge(self, request: ChargeRequest) -> PaymentOutcome:
        """Capture the order's payment, starting a server-to-server one for ``request.method`` when it has none."""
        async with self._http.session() as client:
            payments = await self._http.order_payments(client, request.gateway_order_id, "charge")
            wanted = request.gateway_payment_id
            if wanted is not None and not has_payment(payments, wanted):
                return MISMATCH
            if not payments:
                if not request.method:
                    # Nothing to capture yet: the customer has not paid in Checkout.
                    return PaymentOutcome(status=GatewayStatus.PENDING)
                started = await self._start_payment(client, request)
                if isinstance(started, PaymentOutcome):
                    return started
                payments = started
            payment = select_payment(payments, wanted)
            if payment.get("status") == "authorized":
                return await self._capture(client, payment, request)
            return payment_outcome(payment, "charge")

    async def fetch_status(self, gateway_order_id: str, gateway_payment_id: str | None) -> PaymentOutcome | None:
        """Report the order's payment without moving money (an authorized payment is still pending)."""
        async with self._http.session() as client:
            payments = await self._http.order_payments(client, gateway_order_id, "fetch status")
        if not payments:
            return None
        if gateway_payment_id is not None and not has_payment(payments, gateway_payment_id):
            return MISMATCH
        return payment_outcome(select_payment(payments, gateway_payment_id), "fetch status")

    async def refund(self, request: RefundRequest) -> RefundOutcome:
        """Refund once per refund id: an earlier refund with our receipt is reported, not repeated."""
        payment = quote(request.gateway_payment_id, safe="")
        receipt = str(request.refund_id)
        async with self._http.session() as client:
            # Every page: a retried refund must find its earlier POST however many refunds the payment has.
            for skip in range(0, _MAX_REFUNDS_LISTED, _PAGE):
                params = {"count": _PAGE, "skip": skip}
                reply = await self._http.call(client, "GET", f"/v1/payments/{payment}/refunds", "refund", params=params)
                if reply.refused:
                    return refund_refused(reply)
                page = items(ok(reply, "refund"), "refund")
                for refund in page:
                    notes = refund.get("notes")
                    ours = isinstance(notes, dict) and notes.get("payguard_refund_id") == receipt
                    if refund.get("receipt") == receipt or ours:
                        return refund_outcome(refund)
                if len(page) < _PAGE:
                    break
            else:
                msg = f"Razorpay refund: the payment has more than {_MAX_REFUNDS_LISTED} refunds; not refunding blind"
                raise GatewayError(msg)
            reason = {"reason": request.reason[:_NOTE_LENGTH]} if request.reason else {}  # Razorpay refuses longer
            notes = {"payguard_refund_id": receipt} | reason
            body = {"amount": request.amount, "speed": "normal", "receipt": receipt, "notes": notes}
            idempotency = {"X-Refund-Idempotency": receipt}  # the same body on every try, as Razorpay requires
            path = f"/v1/payments/{payment}/refund"
            reply = await self._http.call(client, "POST", path, "refund", body=body, headers=idempotency)
        if reply.status == HTTPStatus.CONFLICT:  # the first request with this key is still being processed
            msg = "Razorpay refund: an earlier request for this refund is still being processed"
            raise GatewayError(msg)
        if reply.refused:
            return refund_refused(reply)
        return refund_outcome(ok(reply, "refund").body)

    def verify_client_signature(self, gateway_order_id: str, gateway_payment_id: str, signature: str | None) -> bool:
        """Check Checkout's ``razorpay_signature`` against our own order id."""
        return signatures_match(checkout_signature(self._key_secret, gateway_order_id, gateway_payment_id), signature)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayWebhook:
        """Verify ``X-Razorpay-Signature`` on the raw body, then read the event.

        The signature covers the raw body only; ``X-Razorpay-Event-Id`` is not signed, so anyone holding a genuine
        delivery can resend it with another id. payguard keys its dedupe on the body for that reason.

        Raises:
            InvalidSignatureError: The signature is missing or wrong, or the body is not a Razorpay event.
        """
        return parse_webhook(self._webhook_secret, headers, body)

    async def _start_payment(
        self, client: httpx.AsyncClient, request: ChargeRequest
    ) -> list[dict[str, Any]] | PaymentOutcome:
        """Start a server-to-server payment; return the order's payments afterwards, or a refusal."""
        details = request.method_details
        body: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency,
            "order_id": request.gateway_order_id,
            "method": request.method,
            "email": details.get("email", PLACEHOLDER_EMAIL),
            "contact": details.get("contact", PLACEHOLDER_CONTACT),
            "notes": {"payguard_payment_id": str(request.payment_id)},
        }
        # Method-specific fields (``vpa`` for UPI, ``bank`` for netbanking, …) never override the ones above.
        body |= {key: value for key, value in details.items() if key not in body}
        reply = await self._http.call(client, "POST", "/v1/payments/create/json", "charge", body=body)
        if reply.refused:
            # Refused, maybe because a concurrent attempt got there first: the order's payments tell.
            payments = await self._http.order_payments(client, request.gateway_order_id, "charge")
            if payments:
                return payments
            code, description = reply.error
            return PaymentOutcome(status=GatewayStatus.FAILED, failure_code=code, failure_message=description)
        payment_id = ok(reply, "charge").body.get("razorpay_payment_id")
        if not isinstance(payment_id, str) or not payment_id:
            msg = "Razorpay charge answered without a payment id"
            raise GatewayError(msg)
        payment = await self._http.fetch_payment(client, payment_id, "charge")
        if payment.get("order_id") != request.gateway_order_id:
            msg = "Razorpay charge started a payment on another order"
            raise GatewayError(msg)
        return [payment]

    async def _capture(
        self, client: httpx.AsyncClient, payment: dict[str, Any], request: ChargeRequest
    ) -> PaymentOutcome:
        payment_id = str(payment.get("id"))
        if payment.get("amount") != request.amount or payment.get("currency") != request.currency:
            return PaymentOutcome(
                status=GatewayStatus.FAILED,
                gateway_payment_id=payment_id,
                failure_code="amount_mismatch",
                failure_message="The authorized amount or currency differs from the payment's.",
            )
        path = f"/v1/payments/{quote(payment_id, safe='')}/capture"
        body = {"amount": request.amount, "currency": request.currency}
        reply = await self._http.call(client, "POST", path, "capture", body=body)
        if reply.ok:
            return payment_outcome(reply.body, "capture")
        if reply.status != 400:
            raise error_of(reply, "capture")
        # "This payment has already been captured" (an earlier attempt's answer was lost), or the
        # authorization lapsed: the payment itself says which.
        fetched = await self._http.fetch_payment(client, payment_id, "capture")
        if fetched.get("status") == "authorized":
            code, description = reply.error
            msg = f"Razorpay refused the capture: {code}: {description}"
            raise GatewayError(msg)
        return payment_outcome(fetched, "capture")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        msg = f"{url!r} is not an absolute http(s) URL"
        raise ValueError(msg)
    return f"{parts.scheme}://{parts.netloc}"
