"""What a delivery sends: the body (whole, or thin when too large) and the Standard Webhooks headers.

The body is ``{"type", "timestamp", "data"}``: the event's type, when it happened (RFC 3339, UTC) and the snapshot
the outbox stored. A body over ``webhook_max_body_bytes`` is neither stored nor sent: the receiver gets a thin one
instead, whose ``data`` names the object and where to fetch the event (``GET {path}/v1/events/{id}``), with
``"thin": true``. The headers carry the event id (the same for every endpoint and every attempt: the receiver's
dedupe key), the attempt's own time and one signature per valid secret.
"""

from __future__ import annotations

from datetime import UTC
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from litestar_payguard.webhooks import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_header

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from uuid import UUID

__all__ = ("DeliveredEvent", "delivery_body", "delivery_headers", "user_agent")


class DeliveredEvent(Protocol):
    """What a delivery's body is made of: an :class:`~litestar_payguard.models.OutboxEvent`, or its columns."""

    @property
    def id(self) -> UUID:
        """The event's id."""

    @property
    def type(self) -> str:
        """Its type (``payment.succeeded``)."""

    @property
    def subject_id(self) -> UUID:
        """The object it is about."""

    @property
    def occurred_at(self) -> datetime:
        """When it happened."""

    @property
    def payload(self) -> dict[str, Any]:
        """The snapshot the outbox stored."""


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def delivery_body(event: DeliveredEvent, *, events_url: str, max_bytes: int) -> bytes:
    """The exact bytes signed and sent for ``event``; thin when the whole body would exceed ``max_bytes``."""
    body = msgspec.json.encode({"type": event.type, "timestamp": _timestamp(event.occurred_at), "data": event.payload})
    if len(body) <= max_bytes:
        return body
    thin: dict[str, Any] = {"id": str(event.subject_id), "thin": True, "url": f"{events_url}/{event.id}"}
    return msgspec.json.encode({"type": event.type, "timestamp": _timestamp(event.occurred_at), "data": thin})


@cache
def user_agent() -> str:
    """``litestar-payguard/<version>``, naming the sender to receivers and their logs."""
    try:
        return f"litestar-payguard/{version('litestar-payguard')}"
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "litestar-payguard"


def delivery_headers(event_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """The headers of one attempt: content type, user agent, id, the attempt's time and its signatures."""
    return {
        "content-type": "application/json",
        "user-agent": user_agent(),
        ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_header(event_id, timestamp, body, secrets),
    }
