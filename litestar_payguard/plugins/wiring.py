"""Routers and dependency providers of payguard, built from a configured :class:`PayGuard`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyInitPlugin, SQLAlchemyPlugin
from litestar import Controller, Request, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import Scope

from litestar_payguard.controllers import (
    AdminCleanupController,
    AdminPaymentController,
    AdminPendingController,
    AdminSessionController,
    GatewayWebhookController,
    MerchantPaymentController,
    MerchantRefundController,
    PendingController,
    SessionController,
)
from litestar_payguard.exceptions import AuthenticationError, ImproperConfigurationError
from litestar_payguard.identity import API_KEY_HEADER, API_SECRET_HEADER, PRINCIPAL_STATE_KEY
from litestar_payguard.middleware import IdempotencyMiddleware
from litestar_payguard.middleware.allowed_methods import AllowedMethodsMiddleware
from litestar_payguard.middleware.strict_json import check_request
from litestar_payguard.openapi.routes import Caller, describe_handler
from litestar_payguard.pricing import bind_pricer
from litestar_payguard.principal import Principal
from litestar_payguard.problems import build_exception_handlers
from litestar_payguard.runtime import PayGuard
from litestar_payguard.services.dispatch import Dispatcher
from litestar_payguard.services.pending import CleanupService, PendingPaymentService, StaleCleanup
from litestar_payguard.services.processing import MerchantPaymentService
from litestar_payguard.services.refunds import RefundService
from litestar_payguard.services.sessions import SessionService
from litestar_payguard.services.webhooks import GatewayWebhookService

if TYPE_CHECKING:
    from litestar_payguard.config import PayGuardConfig

__all__ = (
    "ADMIN_CONTROLLERS",
    "PUBLIC_CONTROLLERS",
    "build_dependencies",
    "build_routers",
    "describe_route",
    "find_sqlalchemy_config",
)

PUBLIC_CONTROLLERS: dict[type[Controller], Caller] = {
    SessionController: Caller.CUSTOMER,
    PendingController: Caller.CUSTOMER,
    MerchantPaymentController: Caller.MERCHANT,
    MerchantRefundController: Caller.MERCHANT,
    GatewayWebhookController: Caller.GATEWAY,
}
"""The public router's controllers, and who calls them."""
ADMIN_CONTROLLERS: dict[type[Controller], Caller] = {
    AdminSessionController: Caller.ADMIN,
    AdminCleanupController: Caller.OPERATOR,  # one cleanup per deployment, whatever the merchant
    AdminPendingController: Caller.ADMIN,
    AdminPaymentController: Caller.ADMIN,
}
"""The admin router's controllers (behind the host's guards), and who calls them."""
_CALLERS = {**PUBLIC_CONTROLLERS, **ADMIN_CONTROLLERS}


def find_sqlalchemy_config(plugins: list[Any]) -> SQLAlchemyAsyncConfig:
    """Return the host's one async advanced-alchemy config.

    Raises:
        ImproperConfigurationError: None, or several (then pass ``PayGuardConfig.sqlalchemy_config``).
    """
    configs = [
        config
        for plugin in plugins
        if isinstance(plugin, SQLAlchemyPlugin | SQLAlchemyInitPlugin)
        for config in plugin.config
        if isinstance(config, SQLAlchemyAsyncConfig)
    ]
    unique = list({id(config): config for config in configs}.values())
    if not unique:
        msg = (
            "PayGuardPlugin needs the host's advanced-alchemy SQLAlchemyPlugin with an SQLAlchemyAsyncConfig: "
            "add SQLAlchemyPlugin(config=SQLAlchemyAsyncConfig(connection_string=...)) to the app's plugins."
        )
        raise ImproperConfigurationError(msg)
    if len(unique) > 1:
        msg = "The app has several async SQLAlchemy configs: pass the one to use as PayGuardConfig.sqlalchemy_config."
        raise ImproperConfigurationError(msg)
    return unique[0]


def build_routers(payguard: PayGuard) -> list[Router]:
    """Build the public router and, when enabled, the admin router behind the host's guards.

    Raises:
        ImproperConfigurationError: Admin routes enabled without guards (fail closed).
    """
    config = payguard.config
    if config.admin_enabled and not config.admin_guards:
        msg = (
            "PayGuardConfig.admin_enabled is set but admin_guards is empty: the admin routes would be open to "
            "anyone. Pass admin_guards=[your_staff_guard], or admin_enabled=False."
        )
        raise ImproperConfigurationError(msg)
    shared: dict[str, Any] = {
        "middleware": [AllowedMethodsMiddleware(), IdempotencyMiddleware()],
        "exception_handlers": build_exception_handlers(config.path),
        "request_max_body_size": config.max_body_bytes,
        "before_request": check_request,
    }
    routers = [Router(path=config.path, route_handlers=list(PUBLIC_CONTROLLERS), **shared)]
    if config.admin_enabled:
        routers.append(
            Router(
                path=f"{config.path.rstrip('/')}/admin",
                route_handlers=list(ADMIN_CONTROLLERS),
                guards=list(config.admin_guards),
                **shared,
            )
        )
    return routers


def describe_route(route: BaseRoute, config: PayGuardConfig) -> None:
    """Describe one of payguard's routes in the OpenAPI document; the host's routes are the host's to describe.

    Called once the application registered the route: a handler's signature is complete only then.
    """
    if not isinstance(route, HTTPRoute):
        return
    for handler in route.route_handlers:
        controller = getattr(handler.fn, "__self__", None)  # a controller's handler is bound to its instance
        caller = _CALLERS.get(type(controller)) if isinstance(controller, Controller) else None
        if caller is not None and handler.http_methods - {"OPTIONS"}:  # not Litestar's automatic OPTIONS
            describe_handler(handler, route, caller, config)


def build_dependencies(payguard: PayGuard) -> dict[str, Provide]:
    """Build the providers of payguard's services; the host's handlers can use them too.

    ``payguard_sessions`` is a :class:`SessionService` acting for the request's principal, which it resolves
    itself: payguard's handlers need a single dependency, and Litestar resolves a single dependency without
    spawning a task group. The principal is resolved once per request (``payguard_principal`` reuses it).
    Both share the request's database session with the host's ``db_session`` dependency.
    """
    sqlalchemy_config = payguard.sqlalchemy_config

    async def provide_principal(request: Request[Any, Any, Any], state: State, scope: Scope) -> Principal:
        principal: Principal | None = request.state.get(PRINCIPAL_STATE_KEY)
        if principal is None:
            principal = await payguard.principals.resolve(request, sqlalchemy_config.provide_session(state, scope))
            request.state[PRINCIPAL_STATE_KEY] = principal
        return principal

    dispatcher = Dispatcher(payguard.queue, payguard.config)

    async def provide_sessions(request: Request[Any, Any, Any], state: State, scope: Scope) -> SessionService:
        owner = await provide_principal(request, state, scope)
        db = sqlalchemy_config.provide_session(state, scope)
        pricer = bind_pricer(payguard.config.pricing, request)
        return SessionService(db, payguard.config, owner, dispatcher, pricer=pricer)

    async def provide_merchant(request: Request[Any, Any, Any], state: State, scope: Scope) -> Principal:
        # The merchant API moves money: it never falls back to the default merchant of single-tenant hosts.
        if request.headers.get(API_KEY_HEADER) is None:
            msg = f"The merchant API needs {API_KEY_HEADER} and {API_SECRET_HEADER}."
            raise AuthenticationError(msg)
        return await provide_principal(request, state, scope)

    async def provide_merchant_payments(
        request: Request[Any, Any, Any], state: State, scope: Scope
    ) -> MerchantPaymentService:
        merchant = await provide_merchant(request, state, scope)
        db = sqlalchemy_config.provide_session(state, scope)
        return MerchantPaymentService(db, payguard.config, merchant.merchant_id, dispatcher)

    async def provide_admin_payments(
        request: Request[Any, Any, Any], state: State, scope: Scope
    ) -> MerchantPaymentService:
        # Behind the admin guards: the merchant is the principal's, API keys or the default merchant.
        merchant = await provide_principal(request, state, scope)
        db = sqlalchemy_config.provide_session(state, scope)
        return MerchantPaymentService(db, payguard.config, merchant.merchant_id, dispatcher)

    def provide_gateway_webhooks(state: State, scope: Scope) -> GatewayWebhookService:
        return GatewayWebhookService(sqlalchemy_config.provide_session(state, scope), payguard.config, dispatcher)

    async def provide_refunds(request: Request[Any, Any, Any], state: State, scope: Scope) -> RefundService:
        merchant = await provide_merchant(request, state, scope)
        db = sqlalchemy_config.provide_session(state, scope)
        return RefundService(db, payguard.config, merchant.merchant_id, dispatcher)

    async def provide_pending(request: Request[Any, Any, Any], state: State, scope: Scope) -> PendingPaymentService:
        owner = await provide_principal(request, state, scope)
        return PendingPaymentService(sqlalchemy_config.provide_session(state, scope), payguard.config, owner)

    def provide_cleanup(state: State, scope: Scope) -> CleanupService:
        return CleanupService(sqlalchemy_config.provide_session(state, scope), payguard.config)

    def provide_stale_cleanup() -> StaleCleanup:
        return StaleCleanup(payguard.config, payguard.db_session)

    def provide_payguard() -> PayGuard:
        return payguard

    return {
        "payguard": Provide(provide_payguard, sync_to_thread=False, use_cache=True),
        "payguard_admin_payments": Provide(provide_admin_payments),
        "payguard_cleanup": Provide(provide_cleanup, sync_to_thread=False),
        "payguard_gateway_webhooks": Provide(provide_gateway_webhooks, sync_to_thread=False),
        "payguard_merchant_payments": Provide(provide_merchant_payments),
        "payguard_refunds": Provide(provide_refunds),
        "payguard_pending": Provide(provide_pending),
        "payguard_stale_cleanup": Provide(provide_stale_cleanup, sync_to_thread=False, use_cache=True),
        "payguard_principal": Provide(provide_principal),
        "payguard_sessions": Provide(provide_sessions),
    }
