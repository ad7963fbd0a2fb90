"""A host application for the tests: payguard in a real Litestar app, with header-based auth.

``X-Customer: <id>`` signs a customer in; ``X-Role: admin`` passes the admin guard (the OpenAPI document names
them as the schemes ``customerHeader`` and ``adminRole``). The CLI tests start workers with
``litestar --app tests.hostapp:app_from_env payguard worker``.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Annotated, Any

import httpx
from advanced_alchemy.extensions.litestar import EngineConfig, SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import Parameter

from litestar_payguard import Clock, PayGuardConfig, PayGuardPlugin, Price, SessionService, SystemClock
from litestar_payguard.exceptions import CustomerRequiredError, GatewayError, ValidationFailedError
from litestar_payguard.gateways.razorpay import RazorpayGateway
from litestar_payguard.identity import InvalidCustomerError
from litestar_payguard.middleware import IdempotencyMiddleware
from litestar_payguard.openapi import (
    Problem,
    ProblemOperation,
    idempotency_problems,
    operation_class,
    problem_responses,
)
from litestar_payguard.problems import build_exception_handlers
from litestar_payguard.schemas import Session as SessionView  # not `Session`: advanced-alchemy's name would win
from litestar_payguard.schemas import SessionCreate
from litestar_payguard.services.merchants import InvalidCredentialsError
from litestar_payguard.services.payments import PendingSameBundleError
from litestar_payguard.tracing import tracing_plugin

DEFAULT_MERCHANT_KEY = "key_test_default"
DEFAULT_PRICE = Price(amount=4900, currency="USD")
"""What the test host charges for a bundle it was given no price for."""

PriceKey = str | tuple[str, str | None]
"""A bundle id, or a bundle id and a plan name."""


def customer_from_headers(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.headers.get("x-customer")


def price_list(bundle_id: str, plan_name: str | None, connection: ASGIConnection[Any, Any, Any, Any]) -> Price | None:
    """The test host's pricing hook: ``app.state.prices`` by (bundle, plan), then by bundle, else DEFAULT_PRICE.

    A price of ``None`` there makes the bundle one the host does not sell. Tests may change the prices of a running
    app (a catalogue changing under a customer's open page).
    """
    prices: dict[PriceKey, Price | None] = connection.app.state.prices
    for key in ((bundle_id, plan_name), bundle_id):
        if key in prices:
            return prices[key]
    return DEFAULT_PRICE


def set_price(app: Litestar, key: PriceKey, price: Price | None) -> None:
    """Change what the running test host charges for a bundle (or one of its plans)."""
    app.state.prices[key] = price


def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    role = connection.headers.get("x-role")
    if role is None:
        raise NotAuthorizedException("Sign in first.")
    if role != "admin":
        raise PermissionDeniedException("Admins only.")


@get("/host/ping", sync_to_thread=False)
def ping() -> dict[str, str]:
    return {"host": "ok"}


async def _open(payguard_sessions: SessionService, plan: str) -> SessionView:
    session = await payguard_sessions.create(SessionCreate(bundle_id=plan, amount=1500, currency="EUR"))
    return payguard_sessions.view(session)


PROBLEMS = build_exception_handlers("/payguard")
Plan = Annotated[str, Parameter(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
"""The plan a host checkout route sells: a bundle id (without the '/' a path segment cannot hold)."""
CUSTOMER_SCHEME = "customerHeader"
ADMIN_SCHEME = "adminRole"
OPENAPI_SCHEMES = {
    CUSTOMER_SCHEME: SecurityScheme(type="apiKey", name="X-Customer", security_scheme_in="header"),
    ADMIN_SCHEME: SecurityScheme(type="apiKey", name="X-Role", security_scheme_in="header"),
}
AS_CUSTOMER = [{CUSTOMER_SCHEME: []}]
CHECKOUT_PROBLEMS = (
    CustomerRequiredError,
    InvalidCustomerError,
    InvalidCredentialsError,
    PendingSameBundleError,
    ValidationFailedError,
    (503, "SERVICE_UNAVAILABLE"),
)
"""What the host's checkout routes answer through payguard's service (the plan is a bundle id it validates)."""


@post(
    "/host/checkout/{plan:str}",
    exception_handlers=PROBLEMS,
    responses=problem_responses(*CHECKOUT_PROBLEMS),
    operation_class=ProblemOperation,
    security=AS_CUSTOMER,
)
async def host_checkout(plan: Plan, payguard_sessions: NamedDependency[SessionService]) -> SessionView:
    """A host route using payguard's service, with no payguard middleware of its own."""
    return await _open(payguard_sessions, plan)


def opted_in(mode: str, *problems: Problem) -> dict[str, Any]:
    """The decorator arguments of a checkout route opting in to payguard's ``Idempotency-Key`` (and saying so)."""
    return {
        "opt": {"payguard_idempotency": mode},
        "exception_handlers": PROBLEMS,
        "responses": problem_responses(*CHECKOUT_PROBLEMS, *idempotency_problems(mode), *problems),
        "operation_class": operation_class(mode),
        "security": AS_CUSTOMER,
    }


@post("/host/double-checkout/{plan:str}", middleware=[IdempotencyMiddleware()], **opted_in("optional"))
async def host_double_checkout(plan: Plan, payguard_sessions: NamedDependency[SessionService]) -> SessionView:
    """Opted in twice (opt and its own middleware): one boundary must hold the request, not two."""
    return await _open(payguard_sessions, plan)


@post("/host/strict-checkout/{plan:str}", **opted_in("required"))
async def host_strict_checkout(plan: Plan, payguard_sessions: NamedDependency[SessionService]) -> SessionView:
    """A host route opting in, with a key required, through its ``opt``."""
    return await _open(payguard_sessions, plan)


SLOW_SECONDS = 0.6


@post("/host/slow-checkout/{plan:str}", **opted_in("optional"))
async def host_slow_checkout(plan: Plan, payguard_sessions: NamedDependency[SessionService]) -> SessionView:
    """Opens a session, then waits on a slow remote service before answering."""
    session = await _open(payguard_sessions, plan)
    await asyncio.sleep(SLOW_SECONDS)
    return session


@post("/host/failing-checkout/{plan:str}", **opted_in("optional", GatewayError))
async def host_failing_checkout(plan: Plan, payguard_sessions: NamedDependency[SessionService]) -> SessionView:
    """Opens a session, then a remote service it needs is down (a real connection to a closed port): 502."""
    session = await _open(payguard_sessions, plan)
    try:
        async with httpx.AsyncClient() as http:
            await http.post("http://127.0.0.1:9/", json={})
    except httpx.HTTPError as exc:
        msg = "The remote service did not answer."
        raise GatewayError(msg) from exc
    return session


TEST_WEBHOOK_SECRET_KEY = base64.b64encode(bytes(range(32))).decode()
"""The test host's key for webhook signing secrets at rest (a fixed one: tests are not secret)."""


async def loopback_resolver(host: str, port: int) -> list[IPv4Address | IPv6Address]:
    """Resolve every host name to 127.0.0.1 (IP literals stand for themselves), without DNS."""
    del port
    try:
        return [ip_address(host)]
    except ValueError:
        return [IPv4Address("127.0.0.1")]


def create_app(
    *,
    database_url: str,
    queue_url: str,
    queue_name: str = "payguard",
    clock: Clock | None = None,
    pool_size: int = 10,
    prices: Mapping[PriceKey, Price | None] | None = None,
    traced: bool = False,
    **overrides: Any,
) -> Litestar:
    """The test host; ``overrides`` are ``PayGuardConfig`` fields, ``prices`` what :func:`price_list` answers.

    ``traced`` adds payguard's OpenTelemetry plugin (:func:`litestar_payguard.tracing.tracing_plugin`).
    """
    sqlalchemy_config = SQLAlchemyAsyncConfig(
        connection_string=database_url,
        engine_config=EngineConfig(pool_size=pool_size, max_overflow=pool_size),
    )
    settings: dict[str, Any] = {
        "queue_url": queue_url,
        "queue_name": queue_name,
        "admin_guards": [requires_admin],
        "customer_id": customer_from_headers,
        "pricing": price_list,
        "default_merchant_key": DEFAULT_MERCHANT_KEY,
        "clock": clock or SystemClock(),
        "openapi_customer_scheme": CUSTOMER_SCHEME,
        "openapi_admin_scheme": ADMIN_SCHEME,
        # Every webhook target name the tests use is this machine: nothing a test registers can reach further.
        "webhook_resolver": loopback_resolver,
        "webhook_allowed_networks": ("127.0.0.0/8", "::1/128"),
        # Signing secrets are sealed in every test, as in a production deployment.
        "webhook_secret_key": TEST_WEBHOOK_SECRET_KEY,
    }
    settings.update(overrides)
    payguard = PayGuardConfig(**settings)
    plugins: list[Any] = [SQLAlchemyPlugin(config=sqlalchemy_config), PayGuardPlugin(payguard)]
    if traced:
        plugins.append(tracing_plugin(payguard, sqlalchemy_config))
    return Litestar(
        route_handlers=[
            ping,
            host_checkout,
            host_double_checkout,
            host_strict_checkout,
            host_slow_checkout,
            host_failing_checkout,
        ],
        plugins=plugins,
        state=State({"prices": dict(prices or {})}),
        openapi_config=OpenAPIConfig(
            title="payguard test host", version="1.0.0", components=Components(security_schemes=dict(OPENAPI_SCHEMES))
        ),
    )


RAZORPAY_KEY_ID = "rzp_test_PayGuardHost"
RAZORPAY_KEY_SECRET = "host-key-secret"
RAZORPAY_WEBHOOK_SECRET = "host-webhook-secret"


def razorpay_from_env() -> RazorpayGateway | None:
    """A Razorpay adapter for ``PAYGUARD_TEST_RAZORPAY_URL`` (a fake Razorpay), credentials from the environment."""
    url = os.environ.get("PAYGUARD_TEST_RAZORPAY_URL")
    if not url:
        return None
    return RazorpayGateway(
        key_id=os.environ.get("PAYGUARD_TEST_RAZORPAY_KEY_ID", RAZORPAY_KEY_ID),
        key_secret=os.environ.get("PAYGUARD_TEST_RAZORPAY_KEY_SECRET", RAZORPAY_KEY_SECRET),
        webhook_secret=os.environ.get("PAYGUARD_TEST_RAZORPAY_WEBHOOK_SECRET", RAZORPAY_WEBHOOK_SECRET),
        base_url=url,
    )


def app_from_env() -> Litestar:
    """The app the CLI tests load: URLs and queue name from the environment, policy from ``PAYGUARD_<FIELD>``.

    A policy field the environment does not set keeps the test host's value (:func:`create_app`: sealed secrets,
    loopback receivers allowed), so a CLI worker runs as the in-process host does. With
    ``PAYGUARD_TEST_RAZORPAY_URL`` set, payments go to the Razorpay adapter pointed at that URL (see
    :func:`razorpay_from_env`); otherwise to the default gateway.
    """
    policy = PayGuardConfig(queue_url="redis://unused").with_env()
    overrides: dict[str, Any] = {
        name: getattr(policy, name)
        for name in PayGuardConfig.policy_fields()
        if PayGuardConfig.env_var(name) in os.environ
    }
    if (razorpay := razorpay_from_env()) is not None:
        overrides["test_gateway"] = razorpay
    return create_app(
        database_url=os.environ["PAYGUARD_TEST_DATABASE_URL"],
        queue_url=os.environ["PAYGUARD_TEST_QUEUE_URL"],
        queue_name=os.environ.get("PAYGUARD_TEST_QUEUE_NAME", "payguard"),
        **overrides,
    )
