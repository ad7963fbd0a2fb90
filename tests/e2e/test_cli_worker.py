"""``litestar payguard worker``: separate worker processes, any number of them, sharing one queue."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from litestar_payguard.testing import ManualClock
from litestar_payguard.testing.servers import Server
from tests.e2e.conftest import BIN, process
from tests.hostapp import create_app
from tests.support import Store, create_session, payguard_of, serve


async def _wait_for_workers(queue: object, count: int, patience: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + patience
    while True:
        workers = (await queue.info())["workers"]  # type: ignore[attr-defined]
        if len(workers) >= count or time.monotonic() > deadline:
            return dict(workers)
        await asyncio.sleep(0.3)


async def _expired_metric(log: Path) -> float:
    """The sessions a worker process expired, scraped from the metrics port its log names."""
    written = await asyncio.to_thread(log.read_text)
    found = re.search(r"metrics on (http://\S+/metrics)", written)
    assert found is not None, written
    async with httpx.AsyncClient() as client:
        text = (await client.get(found.group(1))).text
    for gauge in ("payguard_queue_jobs", "payguard_due_lag_seconds", "payguard_workers_seen"):
        assert gauge not in text  # the API's scrapes read them; a worker's port never shows them as 0
    series = re.search(r'^payguard_cleanup_expired_total\{job="sessions"\} (\S+)$', text, re.MULTILINE)
    return 0.0 if series is None else float(series.group(1))


async def test_two_worker_processes_share_the_expiry_work(
    tmp_path: Path, database_url: str, redis_server: Server, engine: AsyncEngine
) -> None:
    store = Store(engine)
    queue_name = f"payguard-cli-{uuid.uuid4().hex[:8]}"
    # Sessions opened an hour ago (by a clock set back): already past their 15 minutes in real time.
    clock = ManualClock(datetime.now(UTC) - timedelta(hours=1))
    app = create_app(database_url=database_url, queue_url=redis_server.url, queue_name=queue_name, clock=clock)
    env = {
        "PAYGUARD_TEST_DATABASE_URL": database_url,
        "PAYGUARD_TEST_QUEUE_URL": redis_server.url,
        "PAYGUARD_TEST_QUEUE_NAME": queue_name,
    }
    command = [str(BIN / "litestar"), "--app", "tests.hostapp:app_from_env", "payguard", "worker", "--concurrency", "2"]
    command += ["--metrics-port", "0", "--metrics-host", "127.0.0.1"]  # each serves its metrics on a free port
    async with serve(app) as client:
        ids = [(await create_session(client, headers={"X-Customer": f"cli-{i}"}))["id"] for i in range(12)]
        queue = payguard_of(app).queue
        with (
            process(command, env=env, log=tmp_path / "worker-1.log") as first,
            process(command, env=env, log=tmp_path / "worker-2.log") as second,
        ):
            workers = await _wait_for_workers(queue, 2)
            assert len(workers) == 2, workers

            results = await asyncio.gather(*(queue.apply("expire_sessions", timeout=30) for _ in range(3)))
            expired = [await _expired_metric(tmp_path / f"worker-{n}.log") for n in (1, 2)]

            assert first.poll() is None
            assert second.poll() is None
        assert first.returncode == 0, (tmp_path / "worker-1.log").read_text()
        assert second.returncode == 0, (tmp_path / "worker-2.log").read_text()

    assert sum(results) == 12
    assert sum(expired) == 12  # each worker process counts what it expired, on its own metrics port
    statuses = await store.rows(
        "SELECT status, count(*) AS n FROM payguard_session WHERE id = ANY(CAST(:ids AS uuid[])) GROUP BY status",
        ids=ids,
    )
    assert statuses == [{"status": "expired", "n": 12}]
    assert "payguard worker on queue" in (tmp_path / "worker-1.log").read_text()
