"""The Litestar plugin: wiring only, no business rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.plugins import CLIPlugin, InitPlugin, ReceiveRoutePlugin
from litestar.routes import HTTPRoute

from litestar_payguard.exceptions import ImproperConfigurationError
from litestar_payguard.jobs.worker import app_lifespan
from litestar_payguard.middleware import IdempotencyMiddleware
from litestar_payguard.middleware.idempotency import check_idempotency_opts
from litestar_payguard.openapi import PayGuardSchemaPlugin, with_security_schemes
from litestar_payguard.plugins.providers import build_dependencies
from litestar_payguard.plugins.routing_errors import add_routing_error_handlers
from litestar_payguard.plugins.wiring import build_routers, describe_route, find_sqlalchemy_config
from litestar_payguard.principal import Principal
from litestar_payguard.runtime import STATE_KEY, PayGuard
from litestar_payguard.services.pending import PendingPaymentService
from litestar_payguard.services.sessions import SessionService
from litestar_payguard.startup import startup_checks

if TYPE_CHECKING:
    from click import Group
    from litestar import Litestar
    from litestar.config.app import AppConfig
    from litestar.routes import BaseRoute

    from litestar_payguard.config import PayGuardConfig

__all__ = ("PayGuardPlugin",)


def _check_routes(app: Litestar) -> None:
    """Fail at start-up on a route whose idempotency ``opt`` is not a mode."""
    check_idempotency_opts(
        handler
        for route in app.routes
        for handler in (route.route_handlers if isinstance(route, HTTPRoute) else [route.route_handler])
    )


class PayGuardPlugin(InitPlugin, CLIPlugin, ReceiveRoutePlugin):
    """Adds payguard to a Litestar app.

    It registers routes under ``config.path``, admin routes behind the host's guards, service dependencies,
    the SAQ queue, cron jobs and optionally an in-app worker, and the ``litestar payguard`` CLI group. In the
    app's OpenAPI document it describes its routes, their security schemes and its schemas as enforced.

    Args:
        config: The plugin configuration.
    """

    __slots__ = ("_config", "_payguard")

    def __init__(self, config: PayGuardConfig) -> None:
        self._config = config
        self._payguard: PayGuard | None = None

    @property
    def config(self) -> PayGuardConfig:
        """The plugin configuration."""
        return self._config

    @property
    def payguard(self) -> PayGuard:
        """The wired core (available once the app is initialised)."""
        if self._payguard is None:
            msg = "PayGuardPlugin is not initialised: add it to a Litestar app's plugins first."
            raise ImproperConfigurationError(msg)
        return self._payguard

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Validate the configuration and register routers, dependencies and the lifespan."""
        sqlalchemy_config = self._config.sqlalchemy_config or find_sqlalchemy_config(app_config.plugins)
        payguard = PayGuard(self._config, sqlalchemy_config)
        app_config.route_handlers.extend(build_routers(payguard))
        # 404 and 405 under the prefix are raised before any payguard router is chosen.
        add_routing_error_handlers(app_config.exception_handlers, self._config)
        # Acts only on the host's routes that opt in; after the host's own middleware, so its auth has run.
        app_config.middleware.append(IdempotencyMiddleware(opt_in=True))
        app_config.dependencies.update(build_dependencies(payguard))
        app_config.lifespan.append(app_lifespan(payguard))
        app_config.on_startup.extend([_check_routes, startup_checks(payguard)])
        app_config.state[STATE_KEY] = payguard
        # Before Litestar's own msgspec plugin, which comes after every plugin the host listed: it would win.
        schemas = PayGuardSchemaPlugin(max_amount=self._config.max_amount)
        app_config.plugins.insert(app_config.plugins.index(self) + 1, schemas)
        if app_config.openapi_config is not None:
            app_config.openapi_config = with_security_schemes(app_config.openapi_config, self._config)
        app_config.signature_namespace.update(
            {
                "PayGuard": PayGuard,
                "PendingPaymentService": PendingPaymentService,
                "Principal": Principal,
                "SessionService": SessionService,
            }
        )
        self._payguard = payguard
        return app_config

    def receive_route(self, route: BaseRoute) -> None:
        """Describe each of payguard's routes in the OpenAPI document once the app has registered it."""
        describe_route(route, self.payguard.config)

    def on_cli_init(self, cli: Group) -> None:
        """Add the ``litestar payguard`` command group."""
        from litestar_payguard.cli import payguard_group  # noqa: PLC0415  # click is only needed by the CLI

        cli.add_command(payguard_group)
