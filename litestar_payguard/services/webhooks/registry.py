"""The merchant's webhook endpoints: register, list, change, delete, and their signing secrets."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from sqlalchemy import select

from litestar_payguard.exceptions import NotFoundError
from litestar_payguard.ids import as_uuid
from litestar_payguard.models import Merchant, WebhookEndpoint
from litestar_payguard.schemas.base import validated
from litestar_payguard.schemas.webhooks import WebhookEndpointPage, WebhookSecret, endpoint_view
from litestar_payguard.services.paging import page_after, split_page
from litestar_payguard.services.scoped import MerchantScoped
from litestar_payguard.services.webhooks.event_types import validate_filters
from litestar_payguard.services.webhooks.outbound import (
    SecretBox,
    check_url,
    parse_networks,
    resolve_target,
    system_resolver,
)
from litestar_payguard.services.webhooks.outbound.endpoint_state import cancel_pending_deliveries
from litestar_payguard.webhooks import generate_secret

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.schemas.webhooks import WebhookEndpointCreate, WebhookEndpointUpdate

__all__ = (
    "WebhookEndpointNotFoundError",
    "WebhookEndpointService",
)


class WebhookEndpointNotFoundError(NotFoundError):
    """No such endpoint of this merchant (another merchant's looks the same)."""

    code = "WEBHOOK_ENDPOINT_NOT_FOUND"
    title = "Webhook endpoint not found"


class WebhookEndpointService(MerchantScoped):
    """A merchant's webhook endpoints.

    Args:
        db: The database session to work in (flushed, never committed).
        config: payguard's configuration.
        merchant_id: The merchant the service acts for.
    """

    __slots__ = ("_box",)

    def __init__(self, db: AsyncSession, config: PayGuardConfig, merchant_id: UUID) -> None:
        super().__init__(db, config, merchant_id)
        self._box = SecretBox(config.webhook_secret_key)

    async def create(self, data: WebhookEndpointCreate) -> tuple[WebhookEndpoint, str]:
        """Register an endpoint; returns it and its new signing secret.

        Raises:
            WebhookUrlInvalidError, WebhookUrlNotHttpsError, WebhookTargetBlockedError,
                WebhookTargetUnresolvedError: The URL is not one payguard sends to (see :meth:`_check_target`).
            EventTypeUnknownError: A filter entry payguard does not send.
        """
        data = validated(data)
        filters = validate_filters(data.event_types)
        url = await self._check_target(data.url, await self._test_mode())
        secret, endpoint_id = generate_secret(), uuid4()
        now = self._config.clock.now()
        endpoint = WebhookEndpoint(
            id=endpoint_id,
            merchant_id=self._merchant_id,
            url=url,
            description=data.description or None,
            event_types=filters,
            enabled=data.enabled,
            disabled_at=None if data.enabled else now,
            secret=self._box.seal(secret, context=str(endpoint_id)),
            created_at=now,
            updated_at=now,
        )
        self._db.add(endpoint)
        await self._db.flush()
        return endpoint, secret

    async def list(self, *, limit: int, cursor: str | None = None) -> WebhookEndpointPage:
        """A page of the merchant's endpoints, newest first, after ``cursor``.

        Raises:
            InvalidCursorError: A cursor this API did not give out.
        """
        statement = select(WebhookEndpoint).where(
            WebhookEndpoint.merchant_id == self._merchant_id, WebhookEndpoint.deleted_at.is_(None)
        )
        rows = list(
            await self._db.scalars(
                page_after(statement, WebhookEndpoint.created_at, WebhookEndpoint.id, cursor=cursor, limit=limit)
            )
        )
        page, next_cursor = split_page(rows, limit)
        return WebhookEndpointPage(
            items=[endpoint_view(endpoint) for endpoint in page], limit=limit, next_cursor=next_cursor
        )

    async def get(self, endpoint_id: str | UUID, *, lock: bool = False) -> WebhookEndpoint:
        """The merchant's endpoint (locked for an update when ``lock``).

        Raises:
            WebhookEndpointNotFoundError: No such endpoint of this merchant, or it was deleted.
        """
        key = as_uuid(endpoint_id)
        endpoint = None
        if key is not None:
            statement = select(WebhookEndpoint).where(
                WebhookEndpoint.id == key,
                WebhookEndpoint.merchant_id == self._merchant_id,
                WebhookEndpoint.deleted_at.is_(None),
            )
            if lock:
                statement = statement.with_for_update().execution_options(populate_existing=True)
            endpoint = await self._db.scalar(statement)
        if endpoint is None:
            msg = f"No webhook endpoint {endpoint_id}."
            raise WebhookEndpointNotFoundError(msg)
        return endpoint

    async def update(self, endpoint_id: str | UUID, data: WebhookEndpointUpdate) -> WebhookEndpoint:
        """Change what ``data`` gives; enabling clears the reason payguard disabled the endpoint for.

        Raises:
            WebhookEndpointNotFoundError: No such endpoint of this merchant.
            WebhookUrlInvalidError: As :meth:`create`.
            EventTypeUnknownError: As :meth:`create`.
        """
        data = validated(data)
        filters = None if data.event_types is None else validate_filters(data.event_types)
        url = None if data.url is None else await self._check_target(data.url, await self._test_mode())
        endpoint = await self.get(endpoint_id, lock=True)
        if url is not None:
            endpoint.url = url
        if filters is not None:
            endpoint.event_types = filters
        if data.description is not None:
            endpoint.description = data.description or None
        if data.enabled is not None and data.enabled != endpoint.enabled:
            endpoint.enabled = data.enabled
            endpoint.disabled_at = None if data.enabled else self._config.clock.now()
            endpoint.disabled_reason = None
            endpoint.failing_since = None
        await self._db.flush()
        return endpoint

    async def delete(self, endpoint_id: str | UUID) -> None:
        """Delete the endpoint: gone from the API, its pending deliveries cancelled, its log kept.

        Raises:
            WebhookEndpointNotFoundError: No such endpoint of this merchant.
        """
        endpoint = await self.get(endpoint_id, lock=True)
        now = self._config.clock.now()
        endpoint.deleted_at = now
        endpoint.enabled = False
        endpoint.disabled_at = endpoint.disabled_at or now
        await cancel_pending_deliveries(self._db, endpoint.id)
        await self._db.flush()

    async def secret(self, endpoint_id: str | UUID) -> WebhookSecret:
        """The endpoint's current signing secret, and until when the one it replaced still signs.

        Raises:
            WebhookEndpointNotFoundError: No such endpoint of this merchant.
        """
        endpoint = await self.get(endpoint_id)
        expires = endpoint.previous_secret_expires_at
        live = endpoint.previous_secret is not None and expires is not None and expires > self._config.clock.now()
        secret = self._box.unseal(endpoint.secret, context=str(endpoint.id))
        return WebhookSecret(secret=secret, previous_secret_expires_at=expires if live else None)

    async def rotate_secret(self, endpoint_id: str | UUID, grace_seconds: int) -> WebhookSecret:
        """Give the endpoint a new secret; the current one keeps signing for ``grace_seconds`` (0: stops at once).

        Raises:
            WebhookEndpointNotFoundError: No such endpoint of this merchant.
        """
        endpoint = await self.get(endpoint_id, lock=True)
        secret = generate_secret()
        expires = self._config.clock.now() + timedelta(seconds=grace_seconds) if grace_seconds > 0 else None
        endpoint.previous_secret = endpoint.secret if expires is not None else None
        endpoint.previous_secret_expires_at = expires
        endpoint.secret = self._box.seal(secret, context=str(endpoint.id))
        await self._db.flush()
        return WebhookSecret(secret=secret, previous_secret_expires_at=expires)

    async def _test_mode(self) -> bool:
        return bool(await self._db.scalar(select(Merchant.test_mode).where(Merchant.id == self._merchant_id)))

    async def _check_target(self, url: str, test_mode: bool) -> str:
        """The URL, if payguard may send to it: checked, then its host resolved and every address checked.

        Raises:
            WebhookUrlInvalidError: Not a URL payguard can send to (no host, credentials, a bad port).
            WebhookUrlNotHttpsError: Not ``https://`` (``http://`` is accepted for a test-mode merchant).
            WebhookTargetBlockedError: The host is, or resolves to, an address that is not public, outside
                ``webhook_allowed_networks``.
            WebhookTargetUnresolvedError: The host name resolves to nothing.
        """
        target = check_url(url, allow_http=test_mode)
        await resolve_target(
            target,
            allowed_networks=parse_networks(self._config.webhook_allowed_networks),
            resolver=self._config.webhook_resolver or system_resolver,
        )
        return url
