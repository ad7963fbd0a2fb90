"""Controllers: parse, call a service, return a schema."""

from litestar_payguard.controllers.admin import (
    AdminCleanupController,
    AdminPaymentController,
    AdminPendingController,
    AdminSessionController,
)
from litestar_payguard.controllers.gateways import GatewayWebhookController
from litestar_payguard.controllers.payments import MerchantPaymentController, MerchantRefundController
from litestar_payguard.controllers.pending import PendingController
from litestar_payguard.controllers.sessions import SessionController

__all__ = (
    "AdminCleanupController",
    "AdminPaymentController",
    "AdminPendingController",
    "AdminSessionController",
    "GatewayWebhookController",
    "MerchantPaymentController",
    "MerchantRefundController",
    "PendingController",
    "SessionController",
)
