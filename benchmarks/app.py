"""The application the benchmarks serve: payguard plus bare baseline endpoints on the same database pool.

Configured from ``BENCH_DATABASE_URL`` and ``BENCH_REDIS_URL``; served by uvicorn in its own process.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from advanced_alchemy.extensions.litestar import EngineConfig, SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from litestar_payguard import PayGuardConfig, PayGuardPlugin, Price

BARE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_row (
    id uuid PRIMARY KEY,
    customer_id varchar(255) NOT NULL,
    amount bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


@post("/bare/rows", status_code=201)
async def bare_insert(db_session: NamedDependency[AsyncSession]) -> dict[str, str]:
    """Baseline: one INSERT, one COMMIT."""
    row_id = uuid.uuid4()
    await db_session.execute(
        text("INSERT INTO bench_row (id, customer_id, amount) VALUES (:id, :customer, :amount)"),
        {"id": row_id, "customer": "bench", "amount": 4900},
    )
    await db_session.commit()
    return {"id": str(row_id)}


@get("/bare/rows/{row_id:str}")
async def bare_select(row_id: FromPath[str], db_session: NamedDependency[AsyncSession]) -> dict[str, Any]:
    """Baseline: one SELECT by primary key."""
    row = (
        await db_session.execute(
            text("SELECT id, customer_id, amount, created_at FROM bench_row WHERE id = :id"), {"id": uuid.UUID(row_id)}
        )
    ).one()
    return {"id": str(row.id), "customerId": row.customer_id, "amount": row.amount, "createdAt": row.created_at}


def customer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.headers.get("x-customer")


def price(_bundle_id: str, _plan_name: str | None, _connection: ASGIConnection[Any, Any, Any, Any]) -> Price:
    """Every bundle costs what the benchmark clients expect (the bare endpoints store the same amount)."""
    return Price(amount=4900, currency="USD")


def create_app() -> Litestar:
    db = SQLAlchemyAsyncConfig(
        connection_string=os.environ["BENCH_DATABASE_URL"],
        engine_config=EngineConfig(pool_size=20, max_overflow=10),
    )
    payguard = PayGuardConfig(
        queue_url=os.environ["BENCH_REDIS_URL"],
        customer_id=customer,
        pricing=price,
        default_merchant_key="bench",
        admin_enabled=False,
        # Polls in the benchmark stay inside the attempt: the measured status path is the read-only one.
        attempt_timeout_seconds=3600,
        session_expiry_seconds=7200,
        stale_pending_seconds=7200,
    )
    return Litestar(route_handlers=[bare_insert, bare_select], plugins=[SQLAlchemyPlugin(db), PayGuardPlugin(payguard)])


def create_app_with_asgi_idempotency_header() -> Any:
    """The same app wrapped in ``asgi-idempotency-header`` (in-memory backend), keyed by ``X-Aih-Key``.

    Its Redis backend needs ``redis<5``, which SAQ's Redis client excludes, so only the in-memory backend runs
    beside payguard; a different header name keeps it out of payguard's own ``Idempotency-Key`` path.
    """
    from idempotency_header_middleware import IdempotencyHeaderMiddleware  # noqa: PLC0415  # bench group only
    from idempotency_header_middleware.backends import MemoryBackend  # noqa: PLC0415

    return IdempotencyHeaderMiddleware(
        app=create_app(), backend=MemoryBackend(), idempotency_header_key="X-Aih-Key", applicable_methods=["POST"]
    )
