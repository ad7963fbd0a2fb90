"""The demo's processes starting together on one fresh Postgres database: each finds every table made once."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from demo_app.models import create_tables
from litestar_payguard.testing.servers import Server
from tests.support import create_database, drop_database


async def test_processes_creating_the_tables_at_once_wait_for_each_other(postgres_server: Server) -> None:
    url = await create_database(postgres_server.url, "demo_tables")
    engines = [create_async_engine(url) for _ in range(4)]  # four processes' pools
    try:
        # Unserialised, all four find the tables missing and all but one fail on Postgres' catalogue.
        await asyncio.gather(*(create_tables(engine) for engine in engines))
        async with engines[0].connect() as connection:
            tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))
        await drop_database(postgres_server.url, url)
    assert {"demo_cart", "demo_cart_item", "demo_checkout", "demo_order", "payguard_payment"} <= tables
