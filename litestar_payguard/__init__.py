"""litestar-payguard: reliable payments for Litestar apps."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from litestar_payguard.clock import Clock, SystemClock
from litestar_payguard.config import CustomerResolver, FulfilmentHook, PayGuardConfig
from litestar_payguard.controllers.metrics import PayGuardMetricsController
from litestar_payguard.exceptions import ImproperConfigurationError, PayGuardError
from litestar_payguard.gateways import (
    ChargeRequest,
    Gateway,
    GatewayStatus,
    PaymentOutcome,
    RazorpayGateway,
    RefundOutcome,
    RefundRequest,
    SimulatedGateway,
)
from litestar_payguard.models import PaymentMode
from litestar_payguard.plugins import PayGuardPlugin
from litestar_payguard.pricing import Price, PricingHook
from litestar_payguard.principal import Principal
from litestar_payguard.runtime import PayGuard
from litestar_payguard.services.merchants import MerchantService
from litestar_payguard.services.processing import MerchantPaymentService
from litestar_payguard.services.refunds import RefundService
from litestar_payguard.services.sessions import SessionService

try:
    __version__ = _version("litestar-payguard")
    """The installed distribution's version (``0.2.0``)."""
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = (
    "ChargeRequest",
    "Clock",
    "CustomerResolver",
    "FulfilmentHook",
    "Gateway",
    "GatewayStatus",
    "ImproperConfigurationError",
    "MerchantPaymentService",
    "MerchantService",
    "PayGuard",
    "PayGuardConfig",
    "PayGuardError",
    "PayGuardMetricsController",
    "PayGuardPlugin",
    "PaymentMode",
    "PaymentOutcome",
    "Price",
    "PricingHook",
    "Principal",
    "RazorpayGateway",
    "RefundOutcome",
    "RefundRequest",
    "RefundService",
    "SessionService",
    "SimulatedGateway",
    "SystemClock",
)
