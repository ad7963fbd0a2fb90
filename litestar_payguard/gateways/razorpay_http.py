"""Razorpay's HTTP layer: authenticated JSON calls whose answers are checked, and the lookups the adapter repeats."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx

from litestar_payguard.exceptions import GatewayError
from litestar_payguard.gateways.razorpay_entities import Reply, items, ok

__all__ = ("RazorpayHttp",)


class RazorpayHttp:
    """Calls to Razorpay's REST API (v1) with HTTP Basic auth.

    Args:
        key_id: API key id.
        key_secret: API key secret.
        base_url: Razorpay's API origin.
        timeout_seconds: Timeout of each HTTP call.
        client: An HTTP client to reuse (its owner closes it); without one, each :meth:`session` opens and
            closes its own, so no connection is held between operations, nor an event loop.
    """

    __slots__ = ("_auth", "_base_url", "_client", "_timeout", "_tls")

    def __init__(
        self, key_id: str, key_secret: str, *, base_url: str, timeout_seconds: float, client: httpx.AsyncClient | None
    ) -> None:
        self._auth = httpx.BasicAuth(key_id, key_secret)
        self._base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout_seconds)
        self._client = client
        # Loading the CA bundle takes tens of milliseconds: do it once here, not in every operation's client.
        self._tls: ssl.SSLContext | bool = httpx.create_ssl_context() if client is None else True

    @asynccontextmanager
    async def session(self) -> AsyncIterator[httpx.AsyncClient]:
        """The client one operation makes its calls with: the shared one, or one of its own."""
        if self._client is not None:
            yield self._client
            return
        async with httpx.AsyncClient(timeout=self._timeout, verify=self._tls) as client:
            yield client

    async def call(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        operation: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Make one API call; a 4xx comes back for the caller to judge, anything unusable raises."""
        try:
            response = await client.request(
                method,
                f"{self._base_url}{path}",
                json=body,
                params=params,
                auth=self._auth,
                timeout=self._timeout,
                headers={"Accept": "application/json", **(headers or {})},
            )
        except httpx.HTTPError as exc:
            # The message names the failure's class only: httpx's own text may quote the URL.
            msg = f"Razorpay {operation} failed: {type(exc).__name__}"
            raise GatewayError(msg) from exc
        if response.status_code >= 500:
            msg = f"Razorpay {operation} failed: HTTP {response.status_code}"
            raise GatewayError(msg)
        try:
            payload = response.json()
        except ValueError as exc:
            msg = f"Razorpay {operation} answered HTTP {response.status_code} with a body that is not JSON"
            raise GatewayError(msg) from exc
        if not isinstance(payload, dict):
            msg = f"Razorpay {operation} answered HTTP {response.status_code} with JSON that is not an object"
            raise GatewayError(msg)
        return Reply(response.status_code, payload)

    async def order_payments(self, client: httpx.AsyncClient, order_id: str, operation: str) -> list[dict[str, Any]]:
        """An order's payments, newest first."""
        path = f"/v1/orders/{quote(order_id, safe='')}/payments"
        return items(ok(await self.call(client, "GET", path, operation), operation), operation)

    async def fetch_payment(self, client: httpx.AsyncClient, payment_id: str, operation: str) -> dict[str, Any]:
        """One payment entity."""
        path = f"/v1/payments/{quote(payment_id, safe='')}"
        return ok(await self.call(client, "GET", path, operation), operation).body
