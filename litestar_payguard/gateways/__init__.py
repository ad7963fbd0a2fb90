"""Payment gateway adapters."""

from litestar_payguard.gateways.base import (
    BrowserCheckout,
    ChargeRequest,
    Gateway,
    GatewayOrder,
    GatewayStatus,
    GatewayWebhook,
    OrderRequest,
    PaymentOutcome,
    RefundOutcome,
    RefundRequest,
    WebhookKind,
    browser_checkout,
)
from litestar_payguard.gateways.razorpay import RazorpayGateway
from litestar_payguard.gateways.simulated import DECLINED_PAYMENT_PREFIX, DECLINED_VPA, SimulatedGateway

__all__ = (
    "DECLINED_PAYMENT_PREFIX",
    "DECLINED_VPA",
    "BrowserCheckout",
    "ChargeRequest",
    "Gateway",
    "GatewayOrder",
    "GatewayStatus",
    "GatewayWebhook",
    "OrderRequest",
    "PaymentOutcome",
    "RazorpayGateway",
    "RefundOutcome",
    "RefundRequest",
    "SimulatedGateway",
    "WebhookKind",
    "browser_checkout",
)
