"""Webhooks: the gateway's inbound events, and the outbound ones payguard sends to merchants' endpoints."""

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
from litestar_payguard.services.webhooks.inbound import (
    GatewayNotFoundError,
    GatewayWebhookService,
    InvalidEventIdError,
    WebhookTooOldError,
)

__all__ = (
    "ENDPOINT_DISABLED",
    "EVENT_TYPES",
    "TEST_EVENT",
    "EventTypeInfo",
    "EventTypeUnknownError",
    "GatewayNotFoundError",
    "GatewayWebhookService",
    "InvalidEventIdError",
    "WebhookTooOldError",
    "event_type_names",
    "matches",
    "validate_filters",
)
