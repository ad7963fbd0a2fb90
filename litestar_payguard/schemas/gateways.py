"""Schemas about the gateway: inbound webhook acknowledgements, the order a checkout pays against."""

from __future__ import annotations

from uuid import UUID

from litestar_payguard.schemas.base import CamelStruct

__all__ = ("CheckoutOrder", "WebhookAck")


class WebhookAck(CamelStruct):
    """The answer to the gateway: 2xx stops its redeliveries."""

    received: bool
    event_id: str
    duplicate: bool
    """The event was delivered before; nothing was done again."""
    outcome: str
    """``queued``, ``applied``, ``deferred``, ``stale``, ``ignored``, ``unknown`` or ``duplicate``."""


class CheckoutOrder(CamelStruct):
    """The gateway order the customer pays against in the gateway's checkout."""

    session_id: UUID
    gateway: str
    gateway_order_id: str
    amount: int
    currency: str
