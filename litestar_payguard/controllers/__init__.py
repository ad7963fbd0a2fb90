"""Controllers: parse, call a service, return a schema."""

from litestar_payguard.controllers.admin import (
    AdminCleanupController,
    AdminPaymentController,
    AdminPendingController,
    AdminSessionController,
)
from litestar_payguard.controllers.checkout_sessions import MerchantSessionController
from litestar_payguard.controllers.dashboard import DashboardOperationsController, DashboardWebhooksController
from litestar_payguard.controllers.events import EventController, EventTypeController
from litestar_payguard.controllers.health import HealthController
from litestar_payguard.controllers.merchant import MerchantAccountController
from litestar_payguard.controllers.pages import CheckoutPageController
from litestar_payguard.controllers.payments import MerchantPaymentController
from litestar_payguard.controllers.pending import PendingController
from litestar_payguard.controllers.refunds import MerchantRefundController, PaymentRefundController
from litestar_payguard.controllers.sessions import SessionController
from litestar_payguard.controllers.webhook_deliveries import WebhookDeliveryController, WebhookEndpointActionController
from litestar_payguard.controllers.webhook_endpoints import WebhookEndpointController
from litestar_payguard.controllers.webhooks import GatewayWebhookController

__all__ = (
    "AdminCleanupController",
    "AdminPaymentController",
    "AdminPendingController",
    "AdminSessionController",
    "CheckoutPageController",
    "DashboardOperationsController",
    "DashboardWebhooksController",
    "EventController",
    "EventTypeController",
    "GatewayWebhookController",
    "HealthController",
    "MerchantAccountController",
    "MerchantPaymentController",
    "MerchantRefundController",
    "MerchantSessionController",
    "PaymentRefundController",
    "PendingController",
    "SessionController",
    "WebhookDeliveryController",
    "WebhookEndpointActionController",
    "WebhookEndpointController",
)
