"""Payment gateway adapters."""

from litestar_payguard.gateways.base import Gateway, PaymentConfirmation, PaymentOutcome
from litestar_payguard.gateways.simulated import SimulatedGateway

__all__ = ("Gateway", "PaymentConfirmation", "PaymentOutcome", "SimulatedGateway")
