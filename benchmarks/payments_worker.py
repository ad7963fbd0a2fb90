"""One SAQ worker process running payguard's jobs and a no-op job (driven by ``benchmarks.payments``).

    python -m benchmarks.payments_worker <postgresql+asyncpg URL> <redis URL> <queue name> <concurrency> [hook]

The process builds its :class:`PayGuard` (the simulated gateway answering at once, the fulfilment hook with
``hook``), then obeys the driver's commands (:mod:`benchmarks.worker_process`): a SAQ worker with payguard's
functions and ``noop``, no cron jobs (the reconciler would add work of its own), the given concurrency.
"""

from __future__ import annotations

import asyncio
import sys

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from benchmarks.worker_process import serve
from litestar_payguard import PayGuardConfig
from litestar_payguard.gateways import SimulatedGateway
from litestar_payguard.models import Payment
from litestar_payguard.runtime import PayGuard


async def fulfil(payment: Payment, db: AsyncSession) -> None:
    """A host's fulfilment hook at its smallest: one order row, in the transaction that records the success."""
    await db.execute(ORDER, {"payment_id": payment.id, "amount": payment.amount})


ORDER = text("INSERT INTO bench_order (payment_id, amount) VALUES (:payment_id, :amount)")
ORDER_TABLE = "CREATE TABLE bench_order (payment_id uuid PRIMARY KEY, amount bigint NOT NULL)"
"""Created by the driver when it benchmarks with the hook (``--hook``)."""


async def main(database_url: str, redis_url: str, queue_name: str, concurrency: int, *, hook: bool) -> None:
    database = SQLAlchemyAsyncConfig(connection_string=database_url, create_all=False)
    config = PayGuardConfig(
        queue_url=redis_url,
        queue_name=queue_name,
        test_gateway=SimulatedGateway(delay_seconds=0),
        on_payment_succeeded=fulfil if hook else None,
    )
    await serve(PayGuard(config, database), database, concurrency=concurrency, connections=concurrency)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), hook=sys.argv[5:] == ["hook"]))
