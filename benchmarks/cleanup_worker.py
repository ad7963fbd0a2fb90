"""One payguard worker process running the stale-payment cleanup job once (used by ``benchmarks.cleanup``).

    python -m benchmarks.cleanup_worker <postgresql+asyncpg URL> <batch size>

Prints one JSON line: the run's seconds, the payments it expired, the process's peak RSS and how much it grew
during the run (KiB; Linux reports ``ru_maxrss`` in KiB).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import text

from litestar_payguard import PayGuardConfig
from litestar_payguard.jobs import expire_stale_payments
from litestar_payguard.runtime import PayGuard


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def main(url: str, batch_size: int) -> dict[str, float | int]:
    database = SQLAlchemyAsyncConfig(connection_string=url, create_all=False)
    # The queue is never connected: the job is called as a worker calls it, with the worker's context.
    config = PayGuardConfig(queue_url="redis://127.0.0.1:1", stale_cleanup_batch_size=batch_size)
    payguard = PayGuard(config, database)
    async with payguard.db_session() as db:  # open the pool and warm the imports, as a running worker has
        await db.execute(text("SELECT 1"))
    before = _peak_rss_kib()
    started = time.perf_counter()
    expired = await expire_stale_payments({"payguard": payguard})
    seconds = time.perf_counter() - started
    peak = _peak_rss_kib()
    await database.get_engine().dispose()
    return {"seconds": seconds, "expired": expired, "peak_rss_kib": peak, "rss_growth_kib": peak - before}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2])))))
