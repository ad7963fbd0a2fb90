"""The merchant API's webhook delivery log and the ways to send again, authenticated with ``X-Api-Key``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas import DeliveryStatus
from litestar_payguard.schemas.base import whole
from litestar_payguard.schemas.webhook_deliveries import (
    Recovery,
    RecoveryQueued,
    TestSent,
    WebhookDeliveryDetail,
    WebhookDeliveryPage,
    WebhookDeliveryView,
    delivery_view,
)
from litestar_payguard.services.paging import InvalidCursorError
from litestar_payguard.services.webhooks import (
    DeliveryFilter,
    DeliveryNotFoundError,
    DeliveryNotRetryableError,
    WebhookDeliveryService,
    WebhookEndpointNotFoundError,
)

__all__ = ("WebhookDeliveryController", "WebhookEndpointActionController")


class WebhookDeliveryController(Controller):
    """Every delivery of the merchant's events, with each attempt and what came back."""

    path = "/v1/webhook-deliveries"
    tags = ["payguard: merchant API"]

    @get("/", operation_id="payguardListWebhookDeliveries", responses=problem_responses(InvalidCursorError))
    async def list_deliveries(  # the log's filters are the query's parameters
        self,
        *,
        payguard_webhook_deliveries: NamedDependency[WebhookDeliveryService],
        endpoint_id: Annotated[UUID | None, QueryParameter(name="endpointId")] = None,
        event_id: Annotated[UUID | None, QueryParameter(name="eventId")] = None,
        event_type: Annotated[
            str | None, QueryParameter(name="eventType", max_length=64, pattern=whole(r"[a-z_]+\.[a-z_]+"))
        ] = None,
        status: Annotated[DeliveryStatus | None, QueryParameter()] = None,
        created_from: Annotated[datetime | None, QueryParameter(name="createdFrom")] = None,
        created_to: Annotated[datetime | None, QueryParameter(name="createdTo")] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> WebhookDeliveryPage:
        """The merchant's deliveries, newest first, by endpoint, event, event type, status and creation time."""
        where = DeliveryFilter(endpoint_id, event_id, event_type, status, created_from, created_to)
        return await payguard_webhook_deliveries.list(where, limit=limit, cursor=cursor)

    @get(
        "/{delivery_id:str}",
        operation_id="payguardGetWebhookDelivery",
        responses=problem_responses(DeliveryNotFoundError),
    )
    async def get_delivery(
        self, delivery_id: FromPath[str], payguard_webhook_deliveries: NamedDependency[WebhookDeliveryService]
    ) -> WebhookDeliveryDetail:
        """One delivery with every attempt: number, trigger, timing, the answer (status, safe headers, body)."""
        return await payguard_webhook_deliveries.detail(delivery_id)

    @post(
        "/{delivery_id:str}/retry",
        operation_id="payguardRetryWebhookDelivery",
        status_code=202,
        responses=problem_responses(DeliveryNotFoundError, DeliveryNotRetryableError),
    )
    async def retry_delivery(
        self, delivery_id: FromPath[str], payguard_webhook_deliveries: NamedDependency[WebhookDeliveryService]
    ) -> WebhookDeliveryView:
        """An attempt now, outside the schedule: 202. If it fails, it is not retried by itself."""
        return delivery_view(await payguard_webhook_deliveries.retry(delivery_id))


class WebhookEndpointActionController(Controller):
    """Sending to one endpoint on demand: a test event, or its failed deliveries again."""

    path = "/v1/webhook-endpoints"
    tags = ["payguard: merchant API"]

    @post(
        "/{endpoint_id:str}/test",
        operation_id="payguardTestWebhookEndpoint",
        status_code=202,
        responses=problem_responses(WebhookEndpointNotFoundError),
    )
    async def send_test(
        self, endpoint_id: FromPath[str], payguard_webhook_deliveries: NamedDependency[WebhookDeliveryService]
    ) -> TestSent:
        """Send a ``webhook.test`` event to this endpoint only (whatever its event types): 202."""
        return await payguard_webhook_deliveries.send_test(endpoint_id)

    @post(
        "/{endpoint_id:str}/recover",
        operation_id="payguardRecoverWebhookEndpoint",
        status_code=202,
        responses=problem_responses(WebhookEndpointNotFoundError),
    )
    async def recover(
        self,
        endpoint_id: FromPath[str],
        data: JSONBody[Recovery],
        payguard_webhook_deliveries: NamedDependency[WebhookDeliveryService],
    ) -> RecoveryQueued:
        """Queue again every failed delivery of the endpoint created from ``since`` (until ``until``): 202.

        One service per route: Litestar resolves a route's dependencies concurrently, and two of them would share
        one database session.
        """
        return RecoveryQueued(queued=await payguard_webhook_deliveries.recover(endpoint_id, data.since, data.until))
