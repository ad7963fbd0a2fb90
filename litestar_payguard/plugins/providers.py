"""Dependency providers of payguard's services, built from a configured :class:`PayGuard`.

Each service is made for the request's caller (its principal, or a merchant authenticated by API key) or for
nobody in particular, on the request's database session: a table says which, and one factory per kind builds
the providers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.types import Scope
from sqlalchemy.ext.asyncio import AsyncSession

from litestar_payguard.config import PayGuardConfig
from litestar_payguard.exceptions import AuthenticationError
from litestar_payguard.identity import API_KEY_HEADER, API_SECRET_HEADER, PRINCIPAL_STATE_KEY
from litestar_payguard.pricing import bind_pricer
from litestar_payguard.principal import Principal
from litestar_payguard.runtime import PayGuard
from litestar_payguard.services.dispatch import Dispatcher
from litestar_payguard.services.health import HealthService
from litestar_payguard.services.merchants import MerchantAccountService
from litestar_payguard.services.pending import CleanupService, PendingPaymentService, StaleCleanup
from litestar_payguard.services.processing import MerchantPaymentService
from litestar_payguard.services.refunds import RefundService
from litestar_payguard.services.sessions import CheckoutPageService, SessionService
from litestar_payguard.services.webhooks import (
    EventService,
    GatewayWebhookService,
    WebhookDeliveryService,
    WebhookEndpointService,
)

__all__ = ("build_dependencies",)

_Caller = Callable[[Request[Any, Any, Any], State, Scope], Awaitable[Principal]]
"""Resolves who calls: the request's principal, or the merchant of the merchant API."""
_ForCaller = Callable[[AsyncSession, Principal, Request[Any, Any, Any]], object]
"""Builds a service acting for the caller, on the request's database session."""
_ForAnyone = Callable[[AsyncSession], object]
"""Builds a service acting for nobody in particular, on the request's database session."""


def build_dependencies(payguard: PayGuard) -> dict[str, Provide]:
    """Build the providers of payguard's services; the host's handlers can use them too.

    ``payguard_sessions`` is a :class:`SessionService` acting for the request's principal, which it resolves
    itself: payguard's handlers need a single dependency, and Litestar resolves a single dependency without
    spawning a task group. The principal is resolved once per request (``payguard_principal`` reuses it).
    Both share the request's database session with the host's ``db_session`` dependency.
    """
    config = payguard.config
    dispatcher = Dispatcher(payguard.queue, config)
    principal = _principal_provider(payguard)
    merchant = _merchant_provider(principal)

    def sessions(db: AsyncSession, who: Principal, request: Request[Any, Any, Any]) -> SessionService:
        pricer = bind_pricer(config.pricing, request)
        return SessionService(db, config, who, dispatcher, pricer=pricer, base_url=str(request.base_url))

    for_caller: dict[str, tuple[_Caller, _ForCaller]] = {
        # Behind the admin guards: the merchant is the principal's, API keys or the default merchant.
        "payguard_admin_payments": (
            principal,
            lambda db, who, _: MerchantPaymentService(db, config, who.merchant_id, dispatcher),
        ),
        "payguard_merchant_payments": (
            merchant,
            lambda db, who, _: MerchantPaymentService(db, config, who.merchant_id, dispatcher),
        ),
        "payguard_refunds": (merchant, lambda db, who, _: RefundService(db, config, who.merchant_id, dispatcher)),
        "payguard_webhook_endpoints": (
            merchant,
            lambda db, who, _: WebhookEndpointService(db, config, who.merchant_id),
        ),
        "payguard_webhook_deliveries": (
            merchant,
            lambda db, who, _: WebhookDeliveryService(db, config, who.merchant_id, dispatcher),
        ),
        "payguard_events": (merchant, lambda db, who, _: EventService(db, config, who.merchant_id)),
        "payguard_merchant_account": (merchant, lambda db, who, _: MerchantAccountService(db, config, who.merchant_id)),
        "payguard_pending": (principal, lambda db, who, _: PendingPaymentService(db, config, who)),
        "payguard_sessions": (principal, sessions),
        "payguard_merchant_sessions": (merchant, sessions),
        **_dashboard_services(config, dispatcher, principal),
    }
    for_anyone: dict[str, _ForAnyone] = {
        "payguard_cleanup": lambda db: CleanupService(db, config),
        "payguard_checkout_pages": lambda db: CheckoutPageService(db, config),
        "payguard_health": lambda db: HealthService(db, config, payguard.queue),
        "payguard_gateway_webhooks": lambda db: GatewayWebhookService(db, config, dispatcher),
    }
    return {
        "payguard": Provide(lambda: payguard, sync_to_thread=False, use_cache=True),
        **{name: _for_caller(payguard, caller, build) for name, (caller, build) in for_caller.items()},
        **{name: _for_anyone(payguard, build) for name, build in for_anyone.items()},
        "payguard_stale_cleanup": Provide(
            lambda: StaleCleanup(config, payguard.db_session), sync_to_thread=False, use_cache=True
        ),
        "payguard_principal": Provide(principal),
    }


def _dashboard_services(
    config: PayGuardConfig, dispatcher: Dispatcher, principal: _Caller
) -> dict[str, tuple[_Caller, _ForCaller]]:
    """The dashboard's services, behind the admin guards: the principal's merchant, as for the admin payments."""
    return {
        "payguard_admin_refunds": (principal, lambda db, who, _: RefundService(db, config, who.merchant_id)),
        "payguard_admin_webhook_endpoints": (
            principal,
            lambda db, who, _: WebhookEndpointService(db, config, who.merchant_id),
        ),
        "payguard_admin_webhook_deliveries": (
            principal,
            lambda db, who, _: WebhookDeliveryService(db, config, who.merchant_id, dispatcher),
        ),
        "payguard_admin_events": (principal, lambda db, who, _: EventService(db, config, who.merchant_id)),
    }


def _principal_provider(payguard: PayGuard) -> _Caller:
    """The request's principal, resolved once per request on the request's database session."""

    async def provide_principal(request: Request[Any, Any, Any], state: State, scope: Scope) -> Principal:
        principal: Principal | None = request.state.get(PRINCIPAL_STATE_KEY)
        if principal is None:
            principal = await payguard.principals.resolve(request, _db(payguard, state, scope))
            request.state[PRINCIPAL_STATE_KEY] = principal
        return principal

    return provide_principal


def _merchant_provider(principal: _Caller) -> _Caller:
    """The principal of a request that authenticated by API key.

    The merchant API moves money: it never falls back to the default merchant of single-tenant hosts.
    """

    async def provide_merchant(request: Request[Any, Any, Any], state: State, scope: Scope) -> Principal:
        if request.headers.get(API_KEY_HEADER) is None:
            msg = f"The merchant API needs {API_KEY_HEADER} and {API_SECRET_HEADER}."
            raise AuthenticationError(msg)
        return await principal(request, state, scope)

    return provide_merchant


def _for_caller(payguard: PayGuard, caller: _Caller, build: _ForCaller) -> Provide:
    """A provider of ``build``'s service for the caller ``caller`` resolves, on the request's session."""

    async def provide(request: Request[Any, Any, Any], state: State, scope: Scope) -> object:
        who = await caller(request, state, scope)
        return build(_db(payguard, state, scope), who, request)

    return Provide(provide)


def _for_anyone(payguard: PayGuard, build: _ForAnyone) -> Provide:
    """A provider of ``build``'s service, on the request's session."""

    def provide(state: State, scope: Scope) -> object:
        return build(_db(payguard, state, scope))

    return Provide(provide, sync_to_thread=False)


def _db(payguard: PayGuard, state: State, scope: Scope) -> AsyncSession:
    """The request's database session, shared with the host's ``db_session`` dependency."""
    return payguard.sqlalchemy_config.provide_session(state, scope)
