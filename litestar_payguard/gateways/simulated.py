"""A gateway for test mode: no network, a configurable outcome and delay."""

from __future__ import annotations

import asyncio
from typing import Literal

from litestar_payguard.gateways.base import PaymentConfirmation, PaymentOutcome

__all__ = ("SimulatedGateway",)


class SimulatedGateway:
    """Answers every confirmation with a configured outcome after a configured delay.

    Args:
        outcome: ``"success"`` captures every payment, ``"failure"`` declines every payment.
        delay_seconds: Processing time to simulate before answering.
    """

    __slots__ = ("delay_seconds", "outcome")

    name = "simulated"

    def __init__(self, outcome: Literal["success", "failure"] = "success", delay_seconds: float = 0.0) -> None:
        if outcome not in {"success", "failure"}:
            msg = f"outcome must be 'success' or 'failure', not {outcome!r}"
            raise ValueError(msg)
        if delay_seconds < 0:
            msg = "delay_seconds must not be negative"
            raise ValueError(msg)
        self.outcome = outcome
        self.delay_seconds = delay_seconds

    async def confirm_payment(self, confirmation: PaymentConfirmation) -> PaymentOutcome:
        """Return the configured outcome for any gateway payment id."""
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.outcome == "success":
            return PaymentOutcome(succeeded=True, gateway_payment_id=confirmation.gateway_payment_id)
        return PaymentOutcome(
            succeeded=False,
            gateway_payment_id=confirmation.gateway_payment_id,
            failure_code="card_declined",
            failure_message="The simulated gateway declined the payment.",
        )
