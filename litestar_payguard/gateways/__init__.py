"""Payment gateway adapters."""

from litestar_payguard.gateways.base import (
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
)
from litestar_payguard.gateways.razorpay import RazorpayGateway
from litestar_payguard.gateways.simulated import DECLINED_VPA, SimulatedGateway

__all__ = (
    "DECLINED_VPA",
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
)
