"""An endpoint payguard stops sending to.

Its pending deliveries are cancelled; when payguard disabled it, the reason is stored and the merchant gets an
event saying so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update

from litestar_payguard.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, clip
from litestar_payguard.schemas.webhooks import endpoint_view
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.services.webhooks.event_types import ENDPOINT_DISABLED

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.clock import Clock

__all__ = ("cancel_pending_deliveries", "disable_endpoint")


async def cancel_pending_deliveries(db: AsyncSession, endpoint_id: UUID) -> None:
    """Cancel every delivery of the endpoint still waiting for an attempt."""
    await db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


async def disable_endpoint(db: AsyncSession, clock: Clock, endpoint: WebhookEndpoint, reason: str) -> None:
    """Disable an endpoint for the merchant (it answered 410, or failed too long), saying why.

    Its pending deliveries are cancelled, and the merchant gets a ``webhook_endpoint.disabled`` event (on its
    other endpoints, and in ``GET /v1/events``).
    """
    now: datetime = clock.now()
    endpoint.enabled = False
    endpoint.disabled_reason = clip(reason)
    endpoint.disabled_at = now
    await cancel_pending_deliveries(db, endpoint.id)
    Outbox(db, clock).record(
        merchant_id=endpoint.merchant_id,
        type=ENDPOINT_DISABLED,
        subject_id=endpoint.id,
        payload=endpoint_view(endpoint),
        at=now,
    )
    await db.flush()
