"""Webhooks: the gateway's inbound events today; outbound delivery lives beside them."""

from litestar_payguard.services.webhooks.inbound import (
    GatewayNotFoundError,
    GatewayWebhookService,
    InvalidEventIdError,
    WebhookTooOldError,
)

__all__ = (
    "GatewayNotFoundError",
    "GatewayWebhookService",
    "InvalidEventIdError",
    "WebhookTooOldError",
)
