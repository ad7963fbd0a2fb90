"""The dashboard's webhook pages: endpoints (create, edit, disable, rotate, test), the delivery log, events.

Annotations are evaluated at import, as in the other dashboard controller.
"""

import json
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from litestar_payguard.controllers.dashboard.forms import (
    PAGE_SIZE,
    Form,
    done,
    enum_or_none,
    form_struct,
    listed,
    next_url,
    page,
    text_or_none,
    uuid_or_none,
)
from litestar_payguard.exceptions import ValidationFailedError
from litestar_payguard.runtime import PayGuard
from litestar_payguard.schemas import DeliveryStatus
from litestar_payguard.schemas.webhooks import (
    DEFAULT_GRACE_SECONDS,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    WebhookSecret,
    endpoint_view,
)
from litestar_payguard.services.webhooks import (
    DeliveryFilter,
    EventFilter,
    EventService,
    WebhookDeliveryService,
    WebhookEndpointService,
)

__all__ = ("DashboardWebhooksController",)

Cursor = Annotated[str | None, QueryParameter(max_length=200)]
Text = Annotated[str | None, QueryParameter(max_length=200)]


class DashboardWebhooksController(Controller):
    """Webhook endpoints, their deliveries, and events."""

    path = "/dashboard"
    include_in_schema = False

    @get("/webhooks")
    async def endpoints(
        self,
        request: Request[Any, Any, Any],
        payguard: NamedDependency[PayGuard],
        payguard_admin_webhook_endpoints: NamedDependency[WebhookEndpointService],
        cursor: Cursor = None,
    ) -> Response[str]:
        """The endpoints, and a form to add one."""
        found = await payguard_admin_webhook_endpoints.list(limit=PAGE_SIZE, cursor=text_or_none(cursor))
        return page(request, payguard, "webhooks.html", page=found)

    @post("/webhooks", status_code=200)
    async def create_endpoint(
        self,
        request: Request[Any, Any, Any],
        data: Form,
        payguard: NamedDependency[PayGuard],
        payguard_admin_webhook_endpoints: NamedDependency[WebhookEndpointService],
    ) -> Response[str]:
        """Add an endpoint; its signing secret is shown on the answer, once."""
        values: dict[str, Any] = {
            "url": (data.get("url") or "").strip(),
            "description": text_or_none(data.get("description")),
            "eventTypes": listed(data.get("eventTypes")),
        }
        endpoint, secret = await payguard_admin_webhook_endpoints.create(form_struct(WebhookEndpointCreate, values))
        shown = WebhookSecret(secret=secret)
        return page(request, payguard, "endpoint.html", endpoint=endpoint_view(endpoint), secret=shown)

    @get("/webhooks/{endpoint_id:str}")
    async def endpoint(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[str],
        payguard: NamedDependency[PayGuard],
        payguard_admin_webhook_endpoints: NamedDependency[WebhookEndpointService],
    ) -> Response[str]:
        """One endpoint, its actions and its edit form (its secret is shown only when made)."""
        endpoint = endpoint_view(await payguard_admin_webhook_endpoints.get(endpoint_id))
        return page(request, payguard, "endpoint.html", endpoint=endpoint, secret=None)

    @post("/webhooks/{endpoint_id:str}", status_code=303)
    async def update_endpoint(
        self,
        endpoint_id: FromPath[str],
        data: Form,
        payguard: NamedDependency[PayGuard],
        payguard_admin_webhook_endpoints: NamedDependency[WebhookEndpointService],
    ) -> Redirect:
        """Change the endpoint's URL, event types and description."""
        values = {
            "url": (data.get("url") or "").strip(),
            "eventTypes": listed(data.get("eventTypes")) or [],
            "description": (data.get("description") or "").strip(),  # blank clears it
        }
        await payguard_admin_webhook_endpoints.update(endpoint_id, form_struct(WebhookEndpointUpdate, values))
        return done(payguard, f"/webhooks/{endpoint_id}", "The endpoint is saved.")

    @post("/webhooks/{endpoint_id:str}/state", status_code=303)
    async def set_endpoint_state(
        self,
        endpoint_id: FromPath[str],
        data: Form,
        payguard: NamedDependency[PayGuard],
        payguard_admin_webhook_endpoints: NamedDependency[WebhookEndpointService],
    ) -> Redirect:
        """Disable the endpoint (``enabled=off``: nothing more is sent) or enable it again (``on``: events from now)."""
        enabled = {"on": True, "off": False}.get(data.get("enabled", ""))
        if enabled is None:
            msg = "enabled must be on or off."
            raise ValidationFailedError(msg)
        await payguard_admin_webhook_endpoints.update(endpoint_id, WebhookEndpointUpdate(enabled=enabled))
        return done(payguard, f"/webhooks/{endpoint_id}", f"The endpoint is {'enabled' if enabled else 'disabled'}.")

    @post("/webhooks/{endpoint_id:str}/rotate-secret", status_code=200)
    async def rotate_secret(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[str],
        payguard: NamedDependency[PayGuard],
        payguard_admin_webhook_endpoints: NamedDependency[WebhookEndpointService],
    ) -> Response[str]:
        """A new signing secret; the old one keeps signing alongside it for the default grace (24 h)."""
        secret = await payguard_admin_webhook_endpoints.rotate_secret(endpoint_id, DEFAULT_GRACE_SECONDS)
        endpoint = endpoint_view(await payguard_admin_webhook_endpoints.get(endpoint_id))
        return page(request, payguard, "endpoint.html", endpoint=endpoint, secret=secret)

    @post("/webhooks/{endpoint_id:str}/test", status_code=303)
    async def send_test(
        self,
        endpoint_id: FromPath[str],
        payguard: NamedDependency[PayGuard],
        payguard_admin_webhook_deliveries: NamedDependency[WebhookDeliveryService],
    ) -> Redirect:
        """Send a ``webhook.test`` event to this endpoint only."""
        sent = await payguard_admin_webhook_deliveries.send_test(endpoint_id)
        return done(payguard, f"/webhooks/{endpoint_id}", f"A test event is on its way (delivery {sent.delivery_id}).")

    @get("/deliveries")
    async def deliveries(  # the log's filters are the query's parameters
        self,
        *,
        request: Request[Any, Any, Any],
        payguard: NamedDependency[PayGuard],
        payguard_admin_webhook_deliveries: NamedDependency[WebhookDeliveryService],
        status: Text = None,
        event_type: Annotated[str | None, QueryParameter(name="eventType", max_length=64)] = None,
        endpoint_id: Annotated[str | None, QueryParameter(name="endpointId", max_length=64)] = None,
        event_id: Annotated[str | None, QueryParameter(name="eventId", max_length=64)] = None,
        cursor: Cursor = None,
    ) -> Response[str]:
        """The delivery log, newest first, by status, event type, endpoint and event."""
        where = DeliveryFilter(
            endpoint_id=uuid_or_none(endpoint_id, "endpointId"),
            event_id=uuid_or_none(event_id, "eventId"),
            event_type=text_or_none(event_type),
            status=enum_or_none(DeliveryStatus, status, "status"),
        )
        found = await payguard_admin_webhook_deliveries.list(where, limit=PAGE_SIZE, cursor=text_or_none(cursor))
        filters = {
            "status": status or "",
            "eventType": event_type or "",
            "endpointId": endpoint_id or "",
            "eventId": event_id or "",
        }
        return page(
            request,
            payguard,
            "deliveries.html",
            page=found,
            statuses=[s.value for s in DeliveryStatus],
            filters=filters,
            next_url=next_url(request.url.path, filters),
        )

    @get("/deliveries/{delivery_id:str}")
    async def delivery(
        self,
        request: Request[Any, Any, Any],
        delivery_id: FromPath[str],
        payguard: NamedDependency[PayGuard],
        payguard_admin_webhook_deliveries: NamedDependency[WebhookDeliveryService],
    ) -> Response[str]:
        """One delivery with each attempt's answer."""
        detail = await payguard_admin_webhook_deliveries.detail(delivery_id)
        return page(request, payguard, "delivery.html", delivery=detail)

    @post("/deliveries/{delivery_id:str}/retry", status_code=303)
    async def retry_delivery(
        self,
        delivery_id: FromPath[str],
        payguard: NamedDependency[PayGuard],
        payguard_admin_webhook_deliveries: NamedDependency[WebhookDeliveryService],
    ) -> Redirect:
        """An attempt now, outside the schedule."""
        await payguard_admin_webhook_deliveries.retry(delivery_id)
        return done(payguard, f"/deliveries/{delivery_id}", "A new attempt is queued.")

    @get("/events")
    async def events(
        self,
        request: Request[Any, Any, Any],
        payguard: NamedDependency[PayGuard],
        payguard_admin_events: NamedDependency[EventService],
        type: Annotated[str | None, QueryParameter(max_length=64)] = None,  # noqa: A002  # the API's name
        cursor: Cursor = None,
    ) -> Response[str]:
        """Events, newest first, by type (``payment.succeeded``, ``refund.*``)."""
        where = EventFilter(type=text_or_none(type))
        found = await payguard_admin_events.list(where, limit=PAGE_SIZE, cursor=text_or_none(cursor))
        filters = {"type": type or ""}
        return page(
            request, payguard, "events.html", page=found, filters=filters, next_url=next_url(request.url.path, filters)
        )

    @get("/events/{event_id:str}")
    async def event(
        self,
        request: Request[Any, Any, Any],
        event_id: FromPath[str],
        payguard: NamedDependency[PayGuard],
        payguard_admin_events: NamedDependency[EventService],
    ) -> Response[str]:
        """One event and its payload."""
        found = await payguard_admin_events.get(event_id)
        return page(request, payguard, "event.html", event=found, payload=json.dumps(found.data, indent=2))
