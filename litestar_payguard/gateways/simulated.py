"""A gateway for test mode: no network, a configurable outcome and processing time."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import TYPE_CHECKING, Literal

from litestar_payguard.exceptions import InvalidSignatureError
from litestar_payguard.gateways.base import (
    ChargeRequest,
    GatewayOrder,
    GatewayStatus,
    GatewayWebhook,
    OrderRequest,
    PaymentOutcome,
    RefundOutcome,
    RefundRequest,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ("DECLINED_PAYMENT_PREFIX", "DECLINED_VPA", "SimulatedGateway")

DECLINED_VPA = "failure@simulated"
"""A UPI address the simulated gateway always declines, whatever its configured outcome."""
DECLINED_PAYMENT_PREFIX = "sim_decline_"
"""A client-reported payment reference the simulated gateway declines (the checkout page's test-mode "decline")."""

Delay = float | tuple[float, float]
"""Seconds, or a ``(low, high)`` range to draw from for each call."""


def _check_delay(name: str, delay: Delay) -> None:
    low, high = delay if isinstance(delay, tuple) else (delay, delay)
    if low < 0 or high < low:
        msg = f"{name} must be a non-negative number or a (low, high) range, not {delay!r}"
        raise ValueError(msg)


class SimulatedGateway:
    """Answers every charge with a configured outcome after a configured delay; keeps its books in memory.

    Charges are remembered by order and payment reference, refunds by idempotency key, so repeating one returns
    the first answer and moves no money twice; an order is paid at most once (a charge of a paid order answers
    its payment), and a declined payment leaves its order open for another payment, as at a real gateway.
    :attr:`charges` counts the charges that moved money, per payment. The books live in this process: use a
    gateway with a server of its own (the Razorpay adapter against its fake) to test crashes.
    What they do not know (another worker process, or this one before a restart, made the charge) is answered
    as such a gateway would: an order never charged here is charged when asked to, the same way; a refund of
    a payment captured elsewhere is accepted, because payguard already bounds refunds by the captured amount.

    Args:
        outcome: ``"success"`` captures every payment, ``"failure"`` declines every payment.
        delay_seconds: Processing time of a charge.
        refund_delay_seconds: Processing time of a refund.
    """

    __slots__ = (
        "_captured",
        "_last",
        "_paid",
        "_payments",
        "_refunded",
        "_refunds",
        "charges",
        "delay_seconds",
        "outcome",
        "refund_delay_seconds",
    )

    name = "simulated"
    server_methods = frozenset({"card", "upi", "netbanking", "wallet"})
    live = False
    """It never moves money: the test gateway only."""

    def __init__(
        self,
        outcome: Literal["success", "failure"] = "success",
        delay_seconds: Delay = 0.0,
        refund_delay_seconds: Delay = 0.0,
    ) -> None:
        if outcome not in {"success", "failure"}:
            msg = f"outcome must be 'success' or 'failure', not {outcome!r}"
            raise ValueError(msg)
        _check_delay("delay_seconds", delay_seconds)
        _check_delay("refund_delay_seconds", refund_delay_seconds)
        self.outcome = outcome
        self.delay_seconds = delay_seconds
        self.refund_delay_seconds = refund_delay_seconds
        self.charges: Counter[str] = Counter()
        """Charges that moved money, by our payment id."""
        self._captured: dict[str, int] = {}
        """Amounts captured, by the gateway's payment reference."""
        self._payments: dict[tuple[str, str], PaymentOutcome] = {}
        """Each charge's answer, by order and payment reference."""
        self._paid: dict[str, PaymentOutcome] = {}
        """The payment that paid each paid order."""
        self._last: dict[str, PaymentOutcome] = {}
        """The latest answer per order."""
        self._refunds: dict[str, RefundOutcome] = {}
        self._refunded: Counter[str] = Counter()

    @staticmethod
    async def _wait(delay: Delay) -> None:
        seconds = random.uniform(*delay) if isinstance(delay, tuple) else delay  # noqa: S311  # not cryptography
        if seconds:
            await asyncio.sleep(seconds)

    async def create_order(self, request: OrderRequest) -> GatewayOrder:
        """Open an order (named after our payment, so opening it again gives the same one)."""
        return GatewayOrder(order_id=f"sim_order_{request.payment_id.hex}")

    def _known(self, gateway_order_id: str, payment_ref: str | None) -> PaymentOutcome | None:
        paid = self._paid.get(gateway_order_id)
        if paid is not None:
            return paid
        if payment_ref is None:
            return self._last.get(gateway_order_id)
        return self._payments.get((gateway_order_id, payment_ref))

    async def charge(self, request: ChargeRequest) -> PaymentOutcome:
        """Capture the payment with the configured outcome; a paid order, or a payment charged before, answers as then.

        A reference the client reports (``gateway_payment_id``) is its payment at the gateway: one starting with
        :data:`DECLINED_PAYMENT_PREFIX` is declined; without one, the payment is named after ours.
        """
        payment_ref = request.gateway_payment_id or f"sim_pay_{request.payment_id.hex}"
        known = self._known(request.gateway_order_id, payment_ref)
        if known is not None:
            return known
        await self._wait(self.delay_seconds)
        known = self._known(request.gateway_order_id, payment_ref)
        if known is not None:  # a concurrent charge answered meanwhile
            return known
        declined = (
            self.outcome == "failure"
            or request.method_details.get("vpa") == DECLINED_VPA
            or payment_ref.startswith(DECLINED_PAYMENT_PREFIX)
        )
        if declined:
            outcome = PaymentOutcome(
                GatewayStatus.FAILED,
                gateway_payment_id=payment_ref,
                failure_code="card_declined",
                failure_message="The simulated gateway declined the payment.",
            )
        else:
            outcome = PaymentOutcome(GatewayStatus.SUCCEEDED, gateway_payment_id=payment_ref)
            self.charges[str(request.payment_id)] += 1
            self._captured[payment_ref] = request.amount
            self._paid[request.gateway_order_id] = outcome
        self._payments[request.gateway_order_id, payment_ref] = outcome
        self._last[request.gateway_order_id] = outcome
        return outcome

    async def fetch_status(self, gateway_order_id: str, gateway_payment_id: str | None) -> PaymentOutcome | None:
        """The payment that paid the order, else that payment (or the order's latest) as charged; ``None``: never."""
        return self._known(gateway_order_id, gateway_payment_id)

    async def refund(self, request: RefundRequest) -> RefundOutcome:
        """Refund within what these books captured, if they did; a repeated key returns the first answer."""
        known = self._refunds.get(request.idempotency_key)
        if known is not None:
            return known
        await self._wait(self.refund_delay_seconds)
        known = self._refunds.get(request.idempotency_key)
        if known is not None:
            return known
        captured = self._captured.get(request.gateway_payment_id)  # None: captured by another process's books
        if captured is not None and self._refunded[request.gateway_payment_id] + request.amount > captured:
            outcome = RefundOutcome(
                GatewayStatus.FAILED,
                failure_code="refund_exceeds_captured",
                failure_message="The simulated gateway has no captured amount left to refund.",
            )
        else:
            self._refunded[request.gateway_payment_id] += request.amount
            outcome = RefundOutcome(GatewayStatus.SUCCEEDED, gateway_refund_id=f"sim_rfnd_{request.refund_id.hex}")
        self._refunds[request.idempotency_key] = outcome
        return outcome

    def verify_client_signature(
        self,
        gateway_order_id: str,  # noqa: ARG002
        gateway_payment_id: str,  # noqa: ARG002
        signature: str | None,  # noqa: ARG002
    ) -> bool:
        """Test mode moves no money: any client report is accepted."""
        return True

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayWebhook:  # noqa: ARG002
        """The simulated gateway sends no webhooks, so none is genuine."""
        msg = "The simulated gateway sends no webhooks."
        raise InvalidSignatureError(msg)
