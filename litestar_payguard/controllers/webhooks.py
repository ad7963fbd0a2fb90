"""Inbound webhooks from the payment gateway."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from litestar_payguard.exceptions import InvalidSignatureError
from litestar_payguard.middleware import IDEMPOTENCY_OPT_KEY
from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas.gateways import WebhookAck
from litestar_payguard.services.webhooks import (
    GatewayNotFoundError,
    GatewayWebhookService,
    InvalidEventIdError,
    WebhookTooOldError,
)

__all__ = ("GatewayWebhookController",)


class GatewayWebhookController(Controller):
    """The gateway calls these; they authenticate by the gateway's signature, not by API keys."""

    path = "/gateways"
    tags = ["payguard: gateway webhooks"]

    @post(
        "/{gateway_name:str}/webhooks",
        operation_id="payguardReceiveGatewayWebhook",
        status_code=200,
        opt={IDEMPOTENCY_OPT_KEY: "off"},  # the gateway's event id deduplicates
        responses=problem_responses(
            GatewayNotFoundError, InvalidSignatureError, InvalidEventIdError, WebhookTooOldError
        ),
    )
    async def receive_webhook(
        self,
        gateway_name: FromPath[str],
        request: Request[Any, Any, Any],
        payguard_gateway_webhooks: NamedDependency[GatewayWebhookService],
    ) -> WebhookAck:
        """Verify the signature on the raw body, store the event once, apply it order-safely."""
        receipt = await payguard_gateway_webhooks.receive(gateway_name, request.headers, await request.body())
        return WebhookAck(
            received=True, event_id=receipt.event_id, duplicate=receipt.duplicate, outcome=receipt.outcome
        )
