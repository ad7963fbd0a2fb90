"""The merchant API's webhook endpoints, authenticated with ``X-Api-Key`` / ``X-Api-Secret``."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from litestar_payguard.exceptions import (
    WebhookTargetBlockedError,
    WebhookTargetUnresolvedError,
    WebhookUrlInvalidError,
    WebhookUrlNotHttpsError,
)
from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas.webhooks import (
    SecretRotation,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointPage,
    WebhookEndpointUpdate,
    WebhookSecret,
    created_view,
    endpoint_view,
)
from litestar_payguard.services.paging import InvalidCursorError
from litestar_payguard.services.webhooks import (
    EventTypeUnknownError,
    WebhookEndpointNotFoundError,
    WebhookEndpointService,
)

__all__ = ("WebhookEndpointController",)

_NOT_FOUND = problem_responses(WebhookEndpointNotFoundError)
_URL_REFUSED = (
    WebhookUrlInvalidError,
    WebhookUrlNotHttpsError,
    WebhookTargetBlockedError,
    WebhookTargetUnresolvedError,
)


class WebhookEndpointController(Controller):
    """URLs of the merchant's backend that payguard sends signed events to."""

    path = "/v1/webhook-endpoints"
    tags = ["payguard: merchant API"]

    @post(
        "/",
        operation_id="payguardCreateWebhookEndpoint",
        status_code=201,
        responses=problem_responses(*_URL_REFUSED, EventTypeUnknownError),
    )
    async def create_endpoint(
        self,
        data: JSONBody[WebhookEndpointCreate],
        payguard_webhook_endpoints: NamedDependency[WebhookEndpointService],
    ) -> WebhookEndpointCreated:
        """Register an endpoint: 201 with its signing secret (also at ``GET …/{id}/secret``)."""
        endpoint, secret = await payguard_webhook_endpoints.create(data)
        return created_view(endpoint, secret)

    @get("/", operation_id="payguardListWebhookEndpoints", responses=problem_responses(InvalidCursorError))
    async def list_endpoints(
        self,
        *,
        payguard_webhook_endpoints: NamedDependency[WebhookEndpointService],
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> WebhookEndpointPage:
        """The merchant's endpoints, newest first; ``nextCursor`` leads to the next page."""
        return await payguard_webhook_endpoints.list(limit=limit, cursor=cursor)

    @get("/{endpoint_id:str}", operation_id="payguardGetWebhookEndpoint", responses=_NOT_FOUND)
    async def get_endpoint(
        self, endpoint_id: FromPath[str], payguard_webhook_endpoints: NamedDependency[WebhookEndpointService]
    ) -> WebhookEndpoint:
        """One endpoint, without its secret."""
        return endpoint_view(await payguard_webhook_endpoints.get(endpoint_id))

    @patch(
        "/{endpoint_id:str}",
        operation_id="payguardUpdateWebhookEndpoint",
        responses=problem_responses(WebhookEndpointNotFoundError, *_URL_REFUSED, EventTypeUnknownError),
    )
    async def update_endpoint(
        self,
        endpoint_id: FromPath[str],
        data: JSONBody[WebhookEndpointUpdate],
        payguard_webhook_endpoints: NamedDependency[WebhookEndpointService],
    ) -> WebhookEndpoint:
        """Change the URL, the event types, the description, or enable or disable the endpoint."""
        return endpoint_view(await payguard_webhook_endpoints.update(endpoint_id, data))

    @delete("/{endpoint_id:str}", operation_id="payguardDeleteWebhookEndpoint", responses=_NOT_FOUND)
    async def delete_endpoint(
        self, endpoint_id: FromPath[str], payguard_webhook_endpoints: NamedDependency[WebhookEndpointService]
    ) -> None:
        """Delete the endpoint: 204; its pending deliveries are cancelled."""
        await payguard_webhook_endpoints.delete(endpoint_id)

    @get("/{endpoint_id:str}/secret", operation_id="payguardGetWebhookEndpointSecret", responses=_NOT_FOUND)
    async def get_secret(
        self, endpoint_id: FromPath[str], payguard_webhook_endpoints: NamedDependency[WebhookEndpointService]
    ) -> WebhookSecret:
        """The endpoint's signing secret."""
        return await payguard_webhook_endpoints.secret(endpoint_id)

    @post(
        "/{endpoint_id:str}/rotate-secret",
        operation_id="payguardRotateWebhookEndpointSecret",
        status_code=200,
        responses=_NOT_FOUND,
    )
    async def rotate_secret(
        self,
        endpoint_id: FromPath[str],
        payguard_webhook_endpoints: NamedDependency[WebhookEndpointService],
        data: JSONBody[SecretRotation | None] = None,
    ) -> WebhookSecret:
        """A new signing secret; the replaced one signs deliveries too until ``previousSecretExpiresAt``.

        The body may be left out: the replaced secret then keeps signing for a day.
        """
        rotation = data or SecretRotation()
        return await payguard_webhook_endpoints.rotate_secret(endpoint_id, rotation.grace_seconds)
