"""Webhooks: the gateway's inbound events, and the outbound ones payguard sends to merchants' endpoints."""

from litestar_payguard.services.webhooks.deliveries import (
    DeliveryFilter,
    DeliveryNotFoundError,
    DeliveryNotRetryableError,
    WebhookDeliveryService,
)
from litestar_payguard.services.webhooks.event_types import (
    ENDPOINT_DISABLED,
    EVENT_TYPES,
    TEST_EVENT,
    EventTypeInfo,
    EventTypeUnknownError,
    event_type_names,
    matches,
    validate_filters,
)
from litestar_payguard.services.webhooks.events import (
    EVENT_PURGE_BATCH_SIZE,
    EventFilter,
    EventNotFoundError,
    EventService,
    purge_old_events,
)
from litestar_payguard.services.webhooks.inbound import (
    GatewayNotFoundError,
    GatewayWebhookService,
    InvalidEventIdError,
    WebhookTooOldError,
)
from litestar_payguard.services.webhooks.outbound import SecretBox, make_client
from litestar_payguard.services.webhooks.outbound.deliver import WebhookDeliverer
from litestar_payguard.services.webhooks.outbound.endpoint_state import cancel_pending_deliveries, disable_endpoint
from litestar_payguard.services.webhooks.outbound.fast_path import DeliveryStatements
from litestar_payguard.services.webhooks.outbound.sweep import SweepResult, WebhookSweeper, sweep_cron
from litestar_payguard.services.webhooks.registry import (
    WebhookEndpointNotFoundError,
    WebhookEndpointService,
)

__all__ = (
    "ENDPOINT_DISABLED",
    "EVENT_PURGE_BATCH_SIZE",
    "EVENT_TYPES",
    "TEST_EVENT",
    "DeliveryFilter",
    "DeliveryNotFoundError",
    "DeliveryNotRetryableError",
    "DeliveryStatements",
    "EventFilter",
    "EventNotFoundError",
    "EventService",
    "EventTypeInfo",
    "EventTypeUnknownError",
    "GatewayNotFoundError",
    "GatewayWebhookService",
    "InvalidEventIdError",
    "SecretBox",
    "SweepResult",
    "WebhookDeliverer",
    "WebhookDeliveryService",
    "WebhookEndpointNotFoundError",
    "WebhookEndpointService",
    "WebhookSweeper",
    "WebhookTooOldError",
    "cancel_pending_deliveries",
    "disable_endpoint",
    "event_type_names",
    "make_client",
    "matches",
    "purge_old_events",
    "sweep_cron",
    "validate_filters",
)
