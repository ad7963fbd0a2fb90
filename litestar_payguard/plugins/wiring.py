"""Routers of payguard, built from a configured :class:`PayGuard`, and the description of their routes."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyInitPlugin, SQLAlchemyPlugin
from litestar import Controller, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.middleware import DefineMiddleware
from litestar.routes import BaseRoute, HTTPRoute
from litestar.static_files import create_static_files_router

from litestar_payguard.controllers import (
    AdminCleanupController,
    AdminPaymentController,
    AdminPendingController,
    AdminSessionController,
    CheckoutPageController,
    DashboardOperationsController,
    DashboardWebhooksController,
    EventController,
    EventTypeController,
    GatewayWebhookController,
    HealthController,
    MerchantAccountController,
    MerchantPaymentController,
    MerchantRefundController,
    MerchantSessionController,
    PaymentRefundController,
    PendingController,
    SessionController,
    WebhookDeliveryController,
    WebhookEndpointActionController,
    WebhookEndpointController,
)
from litestar_payguard.exceptions import ImproperConfigurationError
from litestar_payguard.middleware import IdempotencyMiddleware
from litestar_payguard.middleware.allowed_methods import AllowedMethodsMiddleware
from litestar_payguard.middleware.dashboard_csrf import DashboardCSRFMiddleware
from litestar_payguard.middleware.dashboard_forms import DashboardFormMiddleware
from litestar_payguard.middleware.strict_json import check_request
from litestar_payguard.openapi.routes import Caller, describe_handler
from litestar_payguard.pages import (
    DASHBOARD_HEADERS,
    STATIC_DIRECTORY,
    dashboard_error_handlers,
    dashboard_url,
    refusal_page,
)
from litestar_payguard.problems import build_exception_handlers
from litestar_payguard.runtime import PayGuard
from litestar_payguard.services.sealing import derived_secret

if TYPE_CHECKING:
    from litestar_payguard.config import PayGuardConfig

__all__ = (
    "ADMIN_CONTROLLERS",
    "PUBLIC_CONTROLLERS",
    "build_routers",
    "describe_route",
    "find_sqlalchemy_config",
)

PUBLIC_CONTROLLERS: dict[type[Controller], Caller] = {
    SessionController: Caller.CUSTOMER,
    PendingController: Caller.CUSTOMER,
    MerchantPaymentController: Caller.MERCHANT,
    PaymentRefundController: Caller.MERCHANT,
    MerchantRefundController: Caller.MERCHANT,
    MerchantSessionController: Caller.MERCHANT,
    MerchantAccountController: Caller.MERCHANT,
    WebhookEndpointController: Caller.MERCHANT,
    WebhookEndpointActionController: Caller.MERCHANT,
    WebhookDeliveryController: Caller.MERCHANT,
    EventTypeController: Caller.MERCHANT,
    EventController: Caller.MERCHANT,
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
    routers = [Router(path=config.path, route_handlers=list(PUBLIC_CONTROLLERS), **shared), _pages_router(config)]
    if config.admin_enabled:
        admin_path = f"{config.path.rstrip('/')}/admin"
        routers.append(
            Router(path=admin_path, route_handlers=list(ADMIN_CONTROLLERS), guards=list(config.admin_guards), **shared)
        )
        routers.append(_dashboard_router(config, admin_path))
    return routers


def _pages_router(config: PayGuardConfig) -> Router:
    """The hosted checkout page, the static files (its scripts and styles, checkout.js) and the probes."""
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIRECTORY],
        name="payguard_static",
        cache_control=CacheControlHeader(no_cache=True),  # revalidated: a new release's script is seen at once
        after_request=_nosniff,
    )
    return Router(
        path=config.path,
        route_handlers=[CheckoutPageController, HealthController, static],
        exception_handlers=build_exception_handlers(config.path),
        include_in_schema=False,
    )


def _dashboard_router(config: PayGuardConfig, admin_path: str) -> Router:
    """The dashboard, behind the admin guards; every form is checked by Litestar's CSRF middleware."""
    csrf = CSRFConfig(
        secret=_csrf_secret(config),
        cookie_name="payguard_csrf",
        cookie_path=dashboard_url(config.path),
        cookie_httponly=True,  # the token reaches forms through the page, never through a script
        cookie_samesite="strict",
        cookie_secure=(config.public_url or "").startswith("https://"),
    )
    return Router(
        path=admin_path,
        route_handlers=[DashboardOperationsController, DashboardWebhooksController],
        guards=list(config.admin_guards),
        # payguard's commit boundary first: a form's change is committed before its redirect leaves, and a form
        # posted twice is applied once.
        middleware=[
            DashboardFormMiddleware(replay_headers=DASHBOARD_HEADERS, refusal_page=refusal_page(config.path)),
            DefineMiddleware(DashboardCSRFMiddleware, config=csrf),
        ],
        exception_handlers=dashboard_error_handlers(config.path, build_exception_handlers(config.path)),
        request_max_body_size=config.max_body_bytes,
        include_in_schema=False,
    )


def _csrf_secret(config: PayGuardConfig) -> str:
    """``admin_csrf_secret``; else one derived from ``webhook_secret_key`` (every process the same); else random.

    With neither set, each process makes its own, and refuses the forms another one rendered (documented).
    """
    if config.admin_csrf_secret:
        return config.admin_csrf_secret
    if config.webhook_secret_key:
        return derived_secret(config.webhook_secret_key, purpose=_CSRF_PURPOSE)
    return secrets.token_urlsafe(32)


_CSRF_PURPOSE = b"litestar-payguard dashboard csrf v1"


def _nosniff(response: Response[object]) -> Response[object]:
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


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
