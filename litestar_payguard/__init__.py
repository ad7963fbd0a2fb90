"""litestar-payguard: reliable payments for Litestar apps."""

from litestar_payguard.clock import Clock, SystemClock
from litestar_payguard.config import CustomerResolver, PayGuardConfig
from litestar_payguard.exceptions import ImproperConfigurationError, PayGuardError
from litestar_payguard.gateways import Gateway, PaymentConfirmation, PaymentOutcome, SimulatedGateway
from litestar_payguard.plugins import PayGuardPlugin
from litestar_payguard.principal import Principal
from litestar_payguard.runtime import PayGuard
from litestar_payguard.services.merchants import MerchantService
from litestar_payguard.services.sessions import SessionService

__all__ = (
    "Clock",
    "CustomerResolver",
    "Gateway",
    "ImproperConfigurationError",
    "MerchantService",
    "PayGuard",
    "PayGuardConfig",
    "PayGuardError",
    "PayGuardPlugin",
    "PaymentConfirmation",
    "PaymentOutcome",
    "Principal",
    "SessionService",
    "SimulatedGateway",
    "SystemClock",
)
