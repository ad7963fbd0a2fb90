"""Helpers shared by the integration and end-to-end tests."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from litestar import Litestar
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from litestar_payguard import PayGuardPlugin
from litestar_payguard.models import Payment, Refund, RefundStatus
from litestar_payguard.runtime import PayGuard
from litestar_payguard.services.processing import RefundProcessor

ALICE = {"X-Customer": "alice"}
BOB = {"X-Customer": "bob"}
ADMIN = {"X-Role": "admin"}


class Client(httpx.AsyncClient):
    """An HTTP client calling the app in the test's own event loop, so concurrent requests really overlap
    (Litestar's AsyncTestClient runs the app behind a blocking portal on another thread)."""

    def __init__(self, app: Litestar) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        self.app = app


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """Run the app's lifespan (start-up … shutdown) in a task of its own.

    Its anyio cancel scope must be entered and exited by the same task, which a fixture's setup and
    teardown are not.
    """
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    ready = asyncio.create_task(started.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()  # start-up failed: raise its error
    try:
        yield
    finally:
        stop.set()
        await task


async def dispose_engine(app: Litestar) -> None:
    """Close the app's pool.

    advanced-alchemy's lifespan disposes the engine only for the first config of a process: later configs get
    a suffixed ``engine_app_state_key`` and its lifespan looks the engine up under ``engine_dependency_key``.
    """
    await payguard_of(app).sqlalchemy_config.get_engine().dispose()


@asynccontextmanager
async def serve(app: Litestar) -> AsyncIterator[Client]:
    """Start the app, yield a client for it, stop it and close its pool."""
    try:
        async with running(app), Client(app) as client:
            yield client
    finally:
        await dispose_engine(app)


def payguard_of(app: Litestar) -> PayGuard:
    return app.plugins.get(PayGuardPlugin).payguard


class Store:
    """Reads what is stored, with the tests' own engine (never through the app)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        async with self.engine.connect() as connection:
            result = await connection.execute(text(sql), params)
            return [dict(row._mapping) for row in result]

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar()

    async def count(self, table: str, where: str = "true", **params: Any) -> int:
        return int(await self.scalar(f"SELECT count(*) FROM {table} WHERE {where}", **params))

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(text(sql), params)

    async def event_types(self, subject_id: str) -> list[str]:
        rows = await self.rows(
            "SELECT type FROM payguard_event WHERE subject_id = :id ORDER BY occurred_at, created_at", id=subject_id
        )
        return [row["type"] for row in rows]


async def create_session(client: httpx.AsyncClient, headers: dict[str, str] = ALICE, **body: Any) -> dict[str, Any]:
    """Open a session; each call gets a bundle of its own unless told (one open payment per bundle)."""
    payload = {"bundleId": f"bundle-{uuid.uuid4().hex[:8]}", "amount": 4900, "currency": "USD", **body}
    response = await client.post("/payguard/sessions", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def work_off(app: Litestar, rounds: int = 10) -> int:
    """Do now, in this process, what the workers would do with every due payment and refund.

    The same processors the ``process_payment``/``process_refund`` jobs run, without the queue: for tests
    about what processing does rather than about the workers. Returns how many steps were taken.
    """
    from sqlalchemy import select  # noqa: PLC0415

    payguard = payguard_of(app)
    steps = 0
    for _ in range(rounds):
        now = payguard.config.clock.now()
        async with payguard.db_session() as db:
            payments = list(
                await db.scalars(
                    select(Payment.id).where(Payment.process_at <= now, Payment.needs_attention.is_(False))
                )
            )
            refunds = list(
                await db.scalars(
                    select(Refund.id).where(Refund.process_at <= now, Refund.status == RefundStatus.PENDING)
                )
            )
        if not payments and not refunds:
            return steps
        for payment_id in payments:
            await payguard.payment_processor().process(payment_id)
        for refund_id in refunds:
            await RefundProcessor(payguard.config, payguard.db_session).process(refund_id)
        steps += len(payments) + len(refunds)
    return steps


async def eventually(check: Any, limit: float = 20.0, interval: float = 0.05) -> Any:
    """Poll ``check`` (an async callable) until it returns something truthy; fail after ``limit`` seconds."""
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still not true after {limit} s: {check}")
        await asyncio.sleep(interval)


class LogRecords(logging.Handler):
    """A logger's warnings and errors, as messages (Litestar's logging set-up replaces the root handlers that
    pytest's caplog uses)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.messages)


@contextmanager
def logged(name: str = "litestar_payguard") -> Iterator[LogRecords]:
    """Collect the warnings and errors of a logger (and its children) during the block."""
    records, target = LogRecords(), logging.getLogger(name)
    target.addHandler(records)
    try:
        yield records
    finally:
        target.removeHandler(records)


@asynccontextmanager
async def listening(app: Litestar) -> AsyncIterator[str]:
    """Serve an app that is already running (see :func:`serve`) over real HTTP on a free loopback port.

    The server runs in this event loop, so the app's pool and the test's own calls share it; a client in another
    thread (a synchronous one, such as schemathesis') reaches it at the URL yielded.
    """
    import socket  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # it could not start: raise why
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def create_database(server_url: str, prefix: str) -> str:
    """A new, empty database on the Postgres server at ``server_url``; its ``postgresql+asyncpg://`` URL."""
    from urllib.parse import urlsplit, urlunsplit  # noqa: PLC0415

    import asyncpg  # noqa: PLC0415  # only the Postgres tests need the driver

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return urlunsplit(urlsplit(server_url)._replace(scheme="postgresql+asyncpg", path=f"/{name}"))


async def drop_database(server_url: str, url: str) -> None:
    """Drop the database ``url`` names (made by :func:`create_database`), whoever is still connected."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    import asyncpg  # noqa: PLC0415

    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that accepts and reads but never answers (a Redis that hangs); its port."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1024):
            pass
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


class Counts:
    """Samples of the default registry, read before and after: tests see only what they caused."""

    def __init__(self, *samples: tuple[str, dict[str, str]]) -> None:
        self._samples = samples
        self._before = self._read()

    def _read(self) -> list[float]:
        return [REGISTRY.get_sample_value(name, labels) or 0.0 for name, labels in self._samples]

    def deltas(self) -> list[float]:
        return [after - before for before, after in zip(self._before, self._read(), strict=True)]
