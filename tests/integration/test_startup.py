"""Start-up: a database without payguard's schema refuses to start; no worker anywhere is a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from litestar_payguard.exceptions import ImproperConfigurationError
from litestar_payguard.models import PayGuardModel
from tests.hostapp import create_app
from tests.support import dispose_engine, eventually, logged, payguard_of, running

NO_WORKER = "no worker runs in this application and none is running on the queue"


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'host.db'}"


async def _start(app: object) -> None:
    try:
        async with running(app):  # type: ignore[arg-type]
            pass
    finally:
        await dispose_engine(app)  # type: ignore[arg-type]


async def _start_error(app: object) -> str:
    """The start-up error's message (the lifespan's task group wraps it in an exception group)."""
    with pytest.raises(BaseExceptionGroup) as raised:
        await _start(app)
    matched, _ = raised.value.split(ImproperConfigurationError)
    assert matched is not None, raised.value
    while isinstance(matched, BaseExceptionGroup):
        matched = matched.exceptions[0]
    return str(matched)


async def test_an_empty_database_is_a_start_up_error_naming_the_tables(tmp_path: Path, redis_url: str) -> None:
    app = create_app(database_url=_sqlite(tmp_path), queue_url=redis_url)
    message = await _start_error(app)
    assert "missing tables:" in message
    for table in ("payguard_payment", "payguard_session", "payguard_idempotency_key", "payguard_merchant"):
        assert table in message
    assert "create_all=True" in message


async def test_a_table_of_an_older_version_names_its_missing_column(tmp_path: Path, redis_url: str) -> None:
    url = _sqlite(tmp_path)
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(PayGuardModel.metadata.create_all)
        await connection.execute(text("ALTER TABLE payguard_payment DROP COLUMN attention_reason"))
    await engine.dispose()
    message = await _start_error(create_app(database_url=url, queue_url=redis_url))
    assert "missing columns" in message
    assert "payguard_payment.attention_reason" in message
    assert "missing tables" not in message


async def test_the_hosts_create_all_runs_before_the_check(tmp_path: Path, redis_url: str) -> None:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin  # noqa: PLC0415
    from litestar import Litestar  # noqa: PLC0415

    from litestar_payguard import PayGuardConfig, PayGuardPlugin  # noqa: PLC0415
    from tests.hostapp import requires_admin  # noqa: PLC0415

    db = SQLAlchemyAsyncConfig(connection_string=_sqlite(tmp_path), create_all=True)
    # payguard listed first: its check must still see the tables the host's create_all makes
    app = Litestar(
        plugins=[
            PayGuardPlugin(PayGuardConfig(queue_url=redis_url, admin_guards=[requires_admin])),
            SQLAlchemyPlugin(config=db),
        ]
    )
    await _start(app)


async def test_a_database_that_cannot_be_reached_starts_and_warns(redis_url: str) -> None:
    app = create_app(database_url="postgresql+asyncpg://payguard:x@127.0.0.1:9/none", queue_url=redis_url)
    with logged() as records:
        await _start(app)
    assert "could not check the database schema" in records.text


async def test_no_worker_anywhere_is_a_warning(database_url: str, redis_url: str, queue_name: str) -> None:
    with logged() as records:
        await _start(create_app(database_url=database_url, queue_url=redis_url, queue_name=queue_name))
    assert NO_WORKER in records.text
    assert "payguard worker" in records.text


async def test_a_worker_in_the_app_or_on_the_queue_is_no_warning(
    database_url: str, redis_url: str, queue_name: str
) -> None:
    with_worker = create_app(
        database_url=database_url, queue_url=redis_url, queue_name=queue_name, run_worker_in_app=True
    )
    try:
        async with running(with_worker):
            queue = payguard_of(with_worker).queue

            async def worker_seen() -> bool:
                return bool((await queue.info())["workers"])

            await eventually(worker_seen)
            with logged() as records:
                # a second process of the same deployment, without a worker of its own
                await _start(create_app(database_url=database_url, queue_url=redis_url, queue_name=queue_name))
    finally:
        await dispose_engine(with_worker)
    assert records.messages == []


async def test_a_queue_that_does_not_answer_is_a_warning(database_url: str) -> None:
    with logged() as records:
        await _start(create_app(database_url=database_url, queue_url="redis://127.0.0.1:9/0"))
    assert "did not answer at start-up" in records.text
