"""The contract between payguard and a payment gateway."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from uuid import UUID

__all__ = ("Gateway", "PaymentConfirmation", "PaymentOutcome")


@dataclass(frozen=True, slots=True)
class PaymentConfirmation:
    """What the client reported after paying, to be verified with the gateway.

    Attributes:
        payment_id: Our payment id.
        amount: Amount in minor units.
        currency: ISO 4217 code.
        gateway_payment_id: The gateway's reference for the payment the client made.
        signature: The gateway's client-side signature, where the gateway has one.
        idempotency_key: Derived from our ids; the gateway must treat repeated calls with it as one.
    """

    payment_id: UUID
    amount: int
    currency: str
    gateway_payment_id: str
    signature: str | None
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """The gateway's verdict on a payment.

    Attributes:
        succeeded: Whether the money was captured.
        gateway_payment_id: The gateway's reference, as it knows it.
        failure_code: Machine-readable reason when not succeeded.
        failure_message: Human-readable reason when not succeeded.
    """

    succeeded: bool
    gateway_payment_id: str
    failure_code: str | None = None
    failure_message: str | None = None


@runtime_checkable
class Gateway(Protocol):
    """A payment gateway adapter.

    Implementations raise :class:`~litestar_payguard.exceptions.GatewayError` when the gateway cannot be
    reached, and return a :class:`PaymentOutcome` whenever it gave an answer.
    """

    name: str

    async def confirm_payment(self, confirmation: PaymentConfirmation) -> PaymentOutcome:
        """Verify the client's report of a payment and return the gateway's outcome."""
        ...
