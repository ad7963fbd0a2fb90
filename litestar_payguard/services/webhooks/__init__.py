"""Webhooks: the gateway's inbound events, and the outbound ones payguard sends to merchants' endpoints."""

from litestar_payguard.services.webhooks.endpoint_secrets import SECRET_PREFIX, new_secret, seal, unseal
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
    DEFAULT_EVENT_RETENTION,
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
from litestar_payguard.services.webhooks.paging import InvalidCursorError
from litestar_payguard.services.webhooks.registry import (
    WebhookEndpointNotFoundError,
    WebhookEndpointService,
    WebhookUrlInvalidError,
    cancel_pending_deliveries,
    disable_endpoint,
)

__all__ = (
    "DEFAULT_EVENT_RETENTION",
    "ENDPOINT_DISABLED",
    "EVENT_PURGE_BATCH_SIZE",
    "EVENT_TYPES",
    "SECRET_PREFIX",
    "TEST_EVENT",
    "EventFilter",
    "EventNotFoundError",
    "EventService",
    "EventTypeInfo",
    "EventTypeUnknownError",
    "GatewayNotFoundError",
    "GatewayWebhookService",
    "InvalidCursorError",
    "InvalidEventIdError",
    "WebhookEndpointNotFoundError",
    "WebhookEndpointService",
    "WebhookTooOldError",
    "WebhookUrlInvalidError",
    "cancel_pending_deliveries",
    "disable_endpoint",
    "event_type_names",
    "matches",
    "new_secret",
    "purge_old_events",
    "seal",
    "unseal",
    "validate_filters",
)
