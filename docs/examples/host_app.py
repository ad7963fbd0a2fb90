"""A minimal host application with payguard (docs/index.md). The test suite runs it.

Run it with ``DATABASE_URL=sqlite+aiosqlite:///shop.db REDIS_URL=redis://localhost:6379/0
litestar --app docs.examples.host_app:create_app run``.
"""

from __future__ import annotations

import os
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath

from litestar_payguard import PayGuardConfig, PayGuardPlugin, Price, SessionService
from litestar_payguard.middleware import IdempotencyMiddleware
from litestar_payguard.problems import build_exception_handlers
from litestar_payguard.schemas import Session, SessionCreate


def customer_from_header(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """Stand-in for the host's auth: a real app returns ``str(connection.user.id)``."""
    return connection.headers.get("x-user")


PRICES = {"pro": Price(amount=1900, currency="EUR", display_name="Pro")}
"""Stand-in for the host's catalogue."""


def price_of(bundle_id: str, _plan_name: str | None, _connection: ASGIConnection[Any, Any, Any, Any]) -> Price | None:
    """The host's prices: what a customer's ``POST /payguard/sessions`` charges; ``None`` is not for sale."""
    return PRICES.get(bundle_id)


def requires_staff(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The host's guard for payguard's admin routes."""
    if connection.headers.get("x-staff") != "yes":
        raise PermissionDeniedException("Staff only.")


def create_app() -> Litestar:
    """Build the host app."""
    db_config = SQLAlchemyAsyncConfig(
        connection_string=os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///shop.db"), create_all=True
    )
    payguard_config = PayGuardConfig(
        queue_url=os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
        admin_guards=[requires_staff],
        customer_id=customer_from_header,
        default_merchant_key="my-shop",
        pricing=price_of,
    )
    # The host's own route writes through payguard: give it payguard's commit-then-respond boundary,
    # Idempotency-Key support and problem details.
    buy_route = post(
        "/buy/{plan:str}",
        middleware=[IdempotencyMiddleware()],
        exception_handlers=build_exception_handlers(payguard_config.path),
    )(buy)
    return Litestar(
        route_handlers=[buy_route],
        plugins=[SQLAlchemyPlugin(config=db_config), PayGuardPlugin(payguard_config)],
    )


async def buy(plan: FromPath[str], payguard_sessions: NamedDependency[SessionService]) -> Session:
    """A route of the host's own that opens a checkout through payguard's Python API."""
    price = PRICES["pro"]  # the host's own code sets the amount: no pricing hook is asked
    session = await payguard_sessions.create(
        SessionCreate(bundle_id=plan, amount=price.amount, currency=price.currency)
    )
    return payguard_sessions.view(session)
