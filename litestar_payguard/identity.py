"""Resolving the principal of a request.

The merchant comes from API key headers or is the default merchant; the customer comes from the host's hook. A
request that presents a session's client secret (a checkout page) acts for that session's merchant and customer
instead, on that session's routes only.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any
from uuid import UUID

from litestar_payguard.exceptions import HOST_CHALLENGE, AuthenticationError
from litestar_payguard.principal import Principal
from litestar_payguard.services.merchants import InvalidCredentialsError, MerchantService
from litestar_payguard.services.sessions import CLIENT_SECRET_HEADER, CLIENT_SECRET_OPT, session_principal

if TYPE_CHECKING:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar.connection import ASGIConnection
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("API_KEY_HEADER", "API_SECRET_HEADER", "PRINCIPAL_STATE_KEY", "InvalidCustomerError", "PrincipalResolver")

PRINCIPAL_STATE_KEY = "payguard_principal"
"""Request state key of the resolved principal (resolved once per request)."""

CUSTOMER_ID_LENGTH = 255
"""Longest customer id stored (the column size)."""
API_KEY_HEADER = "X-Api-Key"
API_SECRET_HEADER = "X-Api-Secret"  # noqa: S105  # a header name, not a secret


class InvalidCustomerError(AuthenticationError):
    """The host's customer hook returned an id payguard cannot store."""

    code = "INVALID_CUSTOMER_ID"
    title = "Invalid customer id"
    challenge = HOST_CHALLENGE


class PrincipalResolver:
    """Finds who a request acts for.

    The default merchant's id is looked up (or created) once, in a transaction of its own, and cached:
    it must exist whatever becomes of the request's own transaction.
    """

    __slots__ = ("_config", "_default_merchant_id", "_sqlalchemy_config")

    def __init__(self, config: PayGuardConfig, sqlalchemy_config: SQLAlchemyAsyncConfig) -> None:
        self._config = config
        self._sqlalchemy_config = sqlalchemy_config
        self._default_merchant_id: UUID | None = None

    async def resolve(
        self, connection: ASGIConnection[Any, Any, Any, Any], db: AsyncSession | None = None
    ) -> Principal:
        """Return the request's principal.

        Args:
            connection: The request.
            db: The session to look merchants up in; without one, a short session of its own is opened, and only
                when a lookup is needed (API key headers, or the default merchant's first use).

        Raises:
            InvalidCredentialsError: API key headers that do not authenticate.
            AuthenticationError: No API key headers and no default merchant.
        """
        secret = connection.headers.get(CLIENT_SECRET_HEADER)
        if secret is not None:
            return await self._session_principal(connection, secret, db)
        merchant_id = await self._merchant_id(connection, db)
        return Principal(merchant_id=merchant_id, customer_id=await self._customer_id(connection))

    async def _session_principal(
        self, connection: ASGIConnection[Any, Any, Any, Any], secret: str, db: AsyncSession | None
    ) -> Principal:
        """The principal of the session whose client secret the request presents, on that session's routes."""
        session_id = connection.path_params.get("session_id")
        if session_id is None or not connection.route_handler.opt.get(CLIENT_SECRET_OPT):
            msg = f"{CLIENT_SECRET_HEADER} acts only on its own session's routes (sessions/{{id}})."
            raise AuthenticationError(msg)
        now = self._config.clock.now()
        if db is not None:
            return await session_principal(db, str(session_id), secret, now)
        async with self._sqlalchemy_config.get_session() as own:
            return await session_principal(own, str(session_id), secret, now)

    async def _merchant_id(self, connection: ASGIConnection[Any, Any, Any, Any], db: AsyncSession | None) -> UUID:
        api_key = connection.headers.get(API_KEY_HEADER)
        secret = connection.headers.get(API_SECRET_HEADER)
        if api_key is not None or secret is not None:
            if not api_key or not secret:
                msg = f"Send both {API_KEY_HEADER} and {API_SECRET_HEADER}."
                raise InvalidCredentialsError(msg)
            if db is not None:
                return (await MerchantService(db).authenticate(api_key, secret)).id
            async with self._sqlalchemy_config.get_session() as own:
                return (await MerchantService(own).authenticate(api_key, secret)).id
        if self._config.default_merchant_key is None:
            msg = f"Send {API_KEY_HEADER} and {API_SECRET_HEADER}."
            raise AuthenticationError(msg)
        return await self.default_merchant_id()

    async def default_merchant_id(self) -> UUID:
        """Return the default merchant's id, creating the merchant on first use."""
        if self._default_merchant_id is None:
            key = self._config.default_merchant_key
            assert key is not None
            async with self._sqlalchemy_config.get_session() as db:
                merchants = MerchantService(db, self._config)
                # Created live when the deployment has a live gateway (a single-tenant shop in production); once it
                # exists, its mode is the merchant's own.
                merchant = await merchants.get_by_key(key) or await merchants.ensure(
                    key, test_mode=self._config.live_gateway is None
                )
                merchant_id = merchant.id
                await db.commit()
            self._default_merchant_id = merchant_id
        return self._default_merchant_id

    async def _customer_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
        hook = self._config.customer_id
        if hook is None:
            return None
        customer = hook(connection)
        if inspect.isawaitable(customer):
            customer = await customer
        if customer is None or str(customer) == "":
            return None
        customer = str(customer)
        if len(customer) > CUSTOMER_ID_LENGTH or "\x00" in customer:
            msg = f"The customer id must be 1 to {CUSTOMER_ID_LENGTH} characters without NUL."
            raise InvalidCustomerError(msg)
        return customer
