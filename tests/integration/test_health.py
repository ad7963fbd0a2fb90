"""Health and readiness probes: each check reports its own failure, and not ready is a 503 with every result."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from saq import Queue
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from litestar_payguard import PayGuardConfig, SystemClock
from litestar_payguard.services.health import HealthService
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ON_BOTH_DATABASES, Client, ClientFactory
from tests.integration.test_payments_api import create_payment, seed_merchants
from tests.support import ADMIN, silent_server

READY = "/payguard/ready"
CHECKS = {"database", "schema", "queue", "workers", "lag"}


async def _ready_within(client: Client, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        response = await client.get(READY)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.2)


async def test_health_answers_while_the_process_does(client: Client) -> None:
    response = await client.get("/payguard/health")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@ON_BOTH_DATABASES
async def test_ready_once_a_worker_is_heard_from(client_for: ClientFactory) -> None:
    async with client_for(run_worker_in_app=True, clock=SystemClock(), worker_heartbeat_seconds=3) as client:
        response = await _ready_within(client, 10)
        overview = await client.get("/payguard/admin/dashboard/", headers=ADMIN)

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == CHECKS
    assert {name: check["status"] for name, check in body["checks"].items()} == dict.fromkeys(CHECKS, "ok")
    assert body["checks"]["workers"]["value"] >= 1
    assert 'id="ready-status" class="health-healthy">ready' in overview.text
    assert 'id="workers"' in overview.text  # the dashboard lists the worker heard from


async def test_not_ready_without_a_worker_and_every_check_is_reported(client: Client) -> None:
    response = await client.get(READY)

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "not_ready"
    assert body["checks"]["workers"]["status"] == "fail"
    assert "no worker heard from in the last 60 s" in body["checks"]["workers"]["detail"]
    assert all(body["checks"][name]["status"] == "ok" for name in ("database", "schema", "queue", "lag"))


async def test_work_due_for_too_long_is_lag(client: Client, clock: ManualClock) -> None:
    await seed_merchants(client)
    await create_payment(client)  # due at once; no worker takes it

    fresh = (await client.get(READY)).json()["checks"]["lag"]
    clock.advance(301)
    late = (await client.get(READY)).json()["checks"]["lag"]

    assert fresh["status"] == "ok"
    assert late["status"] == "fail"
    assert late["value"] >= 301
    assert "the workers are behind" in late["detail"]


async def test_a_queue_that_never_answers_is_a_failed_check_not_a_hang(client_for: ClientFactory) -> None:
    async with silent_server() as port, client_for(queue_url=f"redis://127.0.0.1:{port}/0") as client:
        started = time.monotonic()
        response = await asyncio.wait_for(client.get(READY), timeout=30)
        took = time.monotonic() - started

    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["queue"]["status"] == body["checks"]["workers"]["status"] == "fail"
    assert "did not answer within 2 s" in body["checks"]["queue"]["detail"]
    assert body["checks"]["database"]["status"] == "ok"
    assert took < 10


async def test_a_database_without_payguards_tables_is_not_ready(redis_url: str, tmp_path: Any) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    queue = Queue.from_url(redis_url, name=f"health-{uuid.uuid4().hex[:8]}")
    config = PayGuardConfig(queue_url=redis_url)
    try:
        async with async_sessionmaker(engine)() as db:
            readiness = await HealthService(db, config, queue).readiness()
    finally:
        await queue.disconnect()
        await engine.dispose()

    schema = readiness.checks["schema"]
    assert readiness.status == "not_ready"
    assert schema.status == "fail"
    assert "the database lacks payguard_" in schema.detail
    assert schema.value is not None
    assert schema.value >= 10  # every payguard table is missing (the detail names five)
    assert "run payguard's migrations" in schema.detail
    assert readiness.checks["database"].status == "ok"


async def test_a_database_that_is_down_is_a_failed_check_not_a_traceback(redis_url: str) -> None:
    engine = create_async_engine("postgresql+asyncpg://payguard@127.0.0.1:9/payguard")  # nothing listens there
    queue = Queue.from_url(redis_url, name=f"health-{uuid.uuid4().hex[:8]}")
    try:
        async with async_sessionmaker(engine)() as db:
            readiness = await HealthService(db, PayGuardConfig(queue_url=redis_url), queue).readiness()
    finally:
        await queue.disconnect()
        await engine.dispose()

    assert readiness.status == "not_ready"
    assert readiness.checks["database"].status == "fail"
    assert "Connect" in readiness.checks["database"].detail or "refused" in readiness.checks["database"].detail
    assert readiness.checks["queue"].status == "ok"  # the other checks still ran
