"""The cleanup's portable path (the demo's SQLite): same effect as the Postgres statement the integration tests
run, events rendered by the payment view itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from litestar_payguard import PayGuardConfig
from litestar_payguard.models import (
    CleanupTrigger,
    Merchant,
    OutboxEvent,
    PayGuardModel,
    Payment,
    PaymentMode,
    PaymentStatus,
)
from litestar_payguard.schemas.payments import payment_view
from litestar_payguard.services.pending import CleanupService, StaleCleanup
from litestar_payguard.testing import ManualClock

NOW = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'cleanup.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(PayGuardModel.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _seed(sessions: async_sessionmaker[AsyncSession], ages_minutes: list[float]) -> list[Payment]:
    async with sessions() as db:
        merchant = Merchant(name="m", api_key=f"key_{uuid4().hex}")
        db.add(merchant)
        await db.flush()
        payments = [
            Payment(
                merchant_id=merchant.id,
                customer_id=f"c{index}",
                bundle_id="gold",
                plan_name="Gold",
                amount=4900,
                currency="USD",
                status=PaymentStatus.PENDING,
                mode=PaymentMode.TEST,
                gateway="simulated",
                amount_refunded=0,
                extra={"order": str(index)},
                created_at=NOW - timedelta(minutes=age),
                updated_at=NOW - timedelta(minutes=age),
            )
            for index, age in enumerate(ages_minutes)
        ]
        db.add_all(payments)
        await db.commit()
    return payments


async def test_a_run_expires_the_stale_payments_in_batches_with_their_events(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    payments = await _seed(sessions, [31, 45, 60, 90, 120, 29, 5])
    config = PayGuardConfig(queue_url="redis://unused", clock=ManualClock(NOW), stale_cleanup_batch_size=2)

    run = await StaleCleanup(config, sessions).run(CleanupTrigger.MANUAL)

    assert run is not None
    assert (run.expired, run.batches, run.trigger) == (5, 3, CleanupTrigger.MANUAL)
    async with sessions() as db:
        stored = {payment.id: payment for payment in (await db.scalars(select(Payment))).all()}
        events = {event.subject_id: event for event in (await db.scalars(select(OutboxEvent))).all()}
    assert [stored[payment.id].status for payment in payments] == [PaymentStatus.EXPIRED] * 5 + [
        PaymentStatus.PENDING
    ] * 2
    assert set(events) == {payment.id for payment in payments[:5]}
    for payment in payments[:5]:
        assert events[payment.id].type == "payment.expired"
        assert events[payment.id].payload == msgspec.to_builtins(payment_view(stored[payment.id]))


async def test_a_stopped_cleanup_skips_scheduled_runs_only(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _seed(sessions, [31])
    config = PayGuardConfig(queue_url="redis://unused", clock=ManualClock(NOW))
    async with sessions() as db:
        await CleanupService(db, config).set_enabled(False)
        await db.commit()

    assert await StaleCleanup(config, sessions).run(CleanupTrigger.CRON) is None
    forced = await StaleCleanup(config, sessions).run(CleanupTrigger.MANUAL)
    assert forced is not None
    assert forced.expired == 1
