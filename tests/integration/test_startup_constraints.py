"""Start-up: a database without the indexes and constraints payguard's invariants rest on refuses to start.

Only tables and columns were compared before: with the open-bundle index dropped the app started, and 50
concurrent creates opened 40 payments for one bundle on Postgres.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from litestar_payguard.exceptions import ImproperConfigurationError
from litestar_payguard.models import PayGuardModel
from litestar_payguard.testing.servers import Server
from tests.hostapp import create_app
from tests.integration.conftest import ALICE
from tests.support import dispose_engine, running, serve


async def _start_error(app: object) -> str | None:
    """The start-up error's message, or ``None`` when the app started."""
    try:
        async with running(app):  # type: ignore[arg-type]
            return None
    except BaseExceptionGroup as group:
        matched, _ = group.split(ImproperConfigurationError)
        assert matched is not None, group
        while isinstance(matched, BaseExceptionGroup):
            matched = matched.exceptions[0]
        return str(matched)
    finally:
        await dispose_engine(app)  # type: ignore[arg-type]


@pytest.fixture
async def own_postgres_url(postgres_server: Server) -> str:
    """A database of the test's own, with payguard's tables (it is altered, so not the shared one)."""
    name = f"payguard_review_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(postgres_server.url)._replace(scheme="postgresql+asyncpg", path=f"/{name}"))
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(PayGuardModel.metadata.create_all)
    await engine.dispose()
    return url


async def _drop(url: str, statement: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


@pytest.mark.parametrize(
    ("statement", "name"),
    [
        ("DROP INDEX uq_payguard_payment_open_bundle", "uq_payguard_payment_open_bundle"),
        (
            "ALTER TABLE payguard_gateway_event DROP CONSTRAINT uq_payguard_gateway_event_body",
            "uq_payguard_gateway_event_body",
        ),
    ],
    ids=["open-bundle-index", "webhook-body-constraint"],
)
async def test_a_schema_without_an_invariant_index_is_a_start_up_error(
    own_postgres_url: str, redis_url: str, queue_name: str, statement: str, name: str
) -> None:
    await _drop(own_postgres_url, statement)

    message = await _start_error(create_app(database_url=own_postgres_url, queue_url=redis_url, queue_name=queue_name))

    assert message is not None, f"payguard started on a database without {name}"
    assert name in message


async def test_without_the_open_bundle_index_concurrent_creates_open_one_payment_or_refuse_to_start(
    own_postgres_url: str, redis_url: str, queue_name: str
) -> None:
    """What the missing check costs: the one-open-payment-per-bundle invariant, silently."""
    await _drop(own_postgres_url, "DROP INDEX uq_payguard_payment_open_bundle")
    app = create_app(database_url=own_postgres_url, queue_url=redis_url, queue_name=queue_name, pool_size=20)
    try:
        async with serve(app) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/payguard/sessions",
                        json={"bundleId": "gold"},
                        headers={**ALICE, "Idempotency-Key": f"create-{index}"},
                    )
                    for index in range(50)
                )
            )
    except BaseExceptionGroup as group:  # refusing to start is the fix
        assert group.split(ImproperConfigurationError)[0] is not None, group
        return
    outcomes = Counter(r.status_code if r.status_code == 201 else r.json()["code"] for r in responses)
    assert outcomes == {201: 1, "PENDING_SAME_BUNDLE": 49}
