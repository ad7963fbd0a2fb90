"""A host app with payguard: its own users, catalogue and orders. The README shows this file; the tests run it.

Run it with a Redis server: ``REDIS_URL=redis://localhost:6379/0 litestar --app docs.examples.host_app:create_app run``
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from advanced_alchemy.base import UUIDAuditBase
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware
from litestar.params import FromPath
from sqlalchemy import BigInteger, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from litestar_payguard import PayGuardConfig, PayGuardPlugin, Price, RazorpayGateway, SessionService
from litestar_payguard.exceptions import NotFoundError
from litestar_payguard.models import Payment
from litestar_payguard.problems import build_exception_handlers
from litestar_payguard.schemas import Session as SessionView  # not `Session`: SQLAlchemy's would be documented
from litestar_payguard.schemas import SessionCreate


@dataclass(frozen=True)
class User:
    """Whoever your own authentication says is calling."""

    id: str
    is_staff: bool = False


USERS = {"token-alice": User("alice"), "token-staff": User("staff", is_staff=True)}
"""Stand-in for your user store: bearer token -> user."""

CATALOGUE = {"pro-monthly": Price(2900, "USD", display_name="Pro, monthly")}
"""Your catalogue: payguard charges what it says, never what a client sends."""


PROBLEMS = build_exception_handlers("/payguard")


class Order(UUIDAuditBase):
    """Your own table: what a paid checkout becomes."""

    __tablename__ = "shop_order"

    payment_id: Mapped[str] = mapped_column(String(36), unique=True)  # one order per payment, even if retried
    customer_id: Mapped[str] = mapped_column(String(255))
    bundle_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)


class BearerAuth(AbstractAuthenticationMiddleware):
    """Your authentication: it sets ``request.user`` (``None`` for anonymous callers, such as gateway webhooks)."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        """Read the bearer token; an unknown or missing one is an anonymous caller."""
        token = connection.headers.get("authorization", "").removeprefix("Bearer ")
        return AuthenticationResult(user=USERS.get(token), auth=token or None)


def customer_id(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """Tell payguard who the customer is; ``None`` makes its customer routes answer 401."""
    return connection.user.id if connection.user else None


def requires_staff(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard payguard's admin routes: 401 for anonymous callers, 403 for customers."""
    if connection.user is None:
        raise NotAuthorizedException("Sign in first.")
    if not connection.user.is_staff:
        raise PermissionDeniedException("Staff only.")


def price_of(bundle_id: str, _plan_name: str | None, _connection: ASGIConnection[Any, Any, Any, Any]) -> Price | None:
    """What a customer's ``POST /payguard/sessions`` charges; ``None``: not for sale (404)."""
    return CATALOGUE.get(bundle_id)


async def create_order(payment: Payment, db_session: AsyncSession) -> None:
    """Fulfilment, in the transaction that records the payment's success: paid always means ordered.

    Raising rolls the success back; payguard retries, then flags the payment for a person.
    """
    price = CATALOGUE.get(payment.bundle_id)
    if price is None or (price.amount, price.currency) != (payment.amount, payment.currency):
        msg = f"Payment {payment.id} paid {payment.amount} {payment.currency} for {payment.bundle_id}."
        raise ValueError(msg)
    db_session.add(
        Order(
            payment_id=str(payment.id),
            customer_id=payment.customer_id,
            bundle_id=payment.bundle_id,
            amount=price.amount,
        )
    )


# Opted in to payguard's commit-before-respond, Idempotency-Key support and problem details.
@post("/shop/buy/{bundle_id:str}", opt={"payguard_idempotency": "optional"}, exception_handlers=PROBLEMS)
async def buy(bundle_id: FromPath[str], payguard_sessions: NamedDependency[SessionService]) -> SessionView:
    """A route of your own that opens a checkout through payguard's Python API, at your price."""
    price = CATALOGUE.get(bundle_id)
    if price is None:
        raise NotFoundError(f"No product {bundle_id!r}.")
    order = SessionCreate(
        bundle_id=bundle_id, amount=price.amount, currency=price.currency, plan_name=price.display_name
    )
    return payguard_sessions.view(await payguard_sessions.create(order))


def create_app() -> Litestar:
    """Build the app.

    ``create_all`` makes your tables and payguard's (``payguard_*``) at start-up; with Alembic instead,
    ``litestar database make-migrations`` includes payguard's tables.
    """
    live = os.environ.get("RAZORPAY_KEY_ID", "").startswith("rzp_live_")
    payguard = PayGuardConfig(
        queue_url=os.environ.get("REDIS_URL", "redis://localhost:6379/0"),  # or "postgresql://…" (SAQ's own queue)
        admin_guards=[requires_staff],  # admin routes without guards refuse to start
        customer_id=customer_id,
        default_merchant_key="my-shop",  # single tenant: requests without API key headers act for this merchant
        pricing=price_of,
        on_payment_succeeded=create_order,
        # Test-mode merchants pay through SimulatedGateway(); live ones through this (Razorpay live keys).
        live_gateway=RazorpayGateway(
            os.environ["RAZORPAY_KEY_ID"], os.environ["RAZORPAY_KEY_SECRET"], os.environ["RAZORPAY_WEBHOOK_SECRET"]
        )
        if live
        else None,
        run_worker_in_app=True,  # development; in production: litestar --app … payguard worker (any number)
    )
    database = SQLAlchemyAsyncConfig(
        connection_string=os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///shop.db"), create_all=True
    )
    return Litestar(
        route_handlers=[buy],
        plugins=[SQLAlchemyPlugin(config=database), PayGuardPlugin(payguard)],
        middleware=[DefineMiddleware(BearerAuth)],
    )
