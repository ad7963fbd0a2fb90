"""Schemas of the outbound webhooks API: endpoints, their secrets, event types and events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta

from litestar_payguard.models import URL_LENGTH, OutboxEvent
from litestar_payguard.models import WebhookEndpoint as WebhookEndpointModel
from litestar_payguard.schemas.base import CamelStruct, InputStruct, whole
from litestar_payguard.schemas.sessions import NO_NUL

__all__ = (
    "DEFAULT_GRACE_SECONDS",
    "MAX_GRACE_SECONDS",
    "Event",
    "EventPage",
    "EventType",
    "EventTypeList",
    "SecretRotation",
    "WebhookEndpoint",
    "WebhookEndpointCreate",
    "WebhookEndpointCreated",
    "WebhookEndpointPage",
    "WebhookEndpointUpdate",
    "WebhookSecret",
    "WebhookTest",
    "created_view",
    "endpoint_view",
    "event_view",
)

DEFAULT_GRACE_SECONDS = 86_400
"""How long the secret replaced by a rotation keeps signing deliveries, unless the rotation says otherwise."""
MAX_GRACE_SECONDS = 604_800
"""The longest grace a rotation may ask for (7 days)."""

EndpointUrl = Annotated[str, Meta(min_length=1, max_length=URL_LENGTH, pattern=whole(r"[^\x00-\x20\x7f]+"))]
"""An absolute URL without spaces or control characters."""
EventTypeFilter = Annotated[str, Meta(min_length=1, max_length=64, pattern=whole(r"[a-z_]+(\.[a-z_]+|\.\*)"))]
"""An exact type (``payment.succeeded``) or a prefix wildcard (``refund.*``)."""
EventTypeFilters = Annotated[list[EventTypeFilter], Meta(max_length=64)]
Description = Annotated[str, Meta(max_length=500, pattern=NO_NUL)]
GraceSeconds = Annotated[int, Meta(ge=0, le=MAX_GRACE_SECONDS)]


class WebhookEndpointCreate(InputStruct):
    """Register a URL of the merchant's backend to receive events."""

    url: EndpointUrl
    """``https://`` (``http://`` too for a test-mode merchant)."""
    event_types: EventTypeFilters | None = None
    """Which events it receives: absent or empty means every type."""
    description: Description | None = None
    enabled: bool = True


class WebhookEndpointUpdate(InputStruct):
    """Change an endpoint; a member left out (or ``null``) keeps its value."""

    url: EndpointUrl | None = None
    event_types: EventTypeFilters | None = None
    """``[]`` means every type."""
    description: Description | None = None
    """``""`` clears it."""
    enabled: bool | None = None
    """``true`` re-enables an endpoint payguard disabled, and clears the reason."""


class SecretRotation(InputStruct):
    """Replace an endpoint's signing secret, the old one signing too for a while."""

    grace_seconds: GraceSeconds = DEFAULT_GRACE_SECONDS
    """How long the replaced secret keeps signing deliveries (0 to 604 800; 0 drops it at once)."""


class WebhookEndpoint(CamelStruct):
    """An endpoint, without its secret (``GET /v1/webhook-endpoints/{id}/secret`` returns it)."""

    id: UUID
    url: str
    event_types: list[str]
    """Empty means every type."""
    description: str | None
    enabled: bool
    disabled_reason: str | None
    """Why payguard disabled it; ``null`` when it is enabled or the merchant disabled it."""
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookEndpointCreated(WebhookEndpoint, kw_only=True):
    """A new endpoint, with the secret that signs its deliveries."""

    secret: str
    """``whsec_`` and base64 of 32 random bytes: the key of the Standard Webhooks HMAC-SHA256 signatures."""


class WebhookEndpointPage(CamelStruct):
    """One page of endpoints, newest first; pass ``nextCursor`` as ``cursor`` for the next one."""

    items: list[WebhookEndpoint]
    limit: int
    next_cursor: str | None


class WebhookSecret(CamelStruct):
    """An endpoint's current signing secret."""

    secret: str
    previous_secret_expires_at: datetime | None = None
    """Until when the secret it replaced still signs deliveries (each delivery then carries both signatures)."""


class EventType(CamelStruct):
    """A type of event payguard sends."""

    type: str
    description: str
    example: dict[str, Any]
    """What ``data`` of such an event looks like."""


class EventTypeList(CamelStruct):
    """Every type of event payguard sends to merchants."""

    items: list[EventType]


class Event(CamelStruct):
    """A state change of one of the merchant's resources, as the outbox stored it."""

    id: UUID
    """Also the ``webhook-id`` of its deliveries."""
    type: str
    subject_id: UUID
    """The payment, refund, session or endpoint it is about."""
    timestamp: datetime
    """When the change happened."""
    created_at: datetime
    data: dict[str, Any]
    """The resource after the change, as the API rendered it then."""


class EventPage(CamelStruct):
    """One page of events, newest first; pass ``nextCursor`` as ``cursor`` for the next one."""

    items: list[Event]
    limit: int
    next_cursor: str | None


class WebhookTest(CamelStruct):
    """``data`` of a ``webhook.test`` event."""

    endpoint_id: UUID
    message: str


def endpoint_view(endpoint: WebhookEndpointModel) -> WebhookEndpoint:
    """Render an endpoint, without its secret."""
    return WebhookEndpoint(
        id=endpoint.id,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def created_view(endpoint: WebhookEndpointModel, secret: str) -> WebhookEndpointCreated:
    """Render a new endpoint with its signing secret (given apart: the row holds it sealed)."""
    view = endpoint_view(endpoint)
    fields = {name: getattr(view, name) for name in view.__struct_fields__}
    return WebhookEndpointCreated(**fields, secret=secret)


def event_view(event: OutboxEvent) -> Event:
    """Render an outbox event with its stored snapshot."""
    return Event(
        id=event.id,
        type=event.type,
        subject_id=event.subject_id,
        timestamp=event.occurred_at,
        created_at=event.created_at,
        data=dict(event.payload),
    )
