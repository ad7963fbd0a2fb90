"""A server killed in the middle of an idempotent request: the retry, on a new server, applies exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from litestar_payguard.testing.servers import Server
from tests.e2e.conftest import DEMO, free_port, process
from tests.support import Store


def _demo(port: int, env: dict[str, str], log: Path) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return process([*DEMO, "--port", str(port)], env=env, log=log, ready_url=f"http://127.0.0.1:{port}/")


async def test_a_retry_after_a_killed_server_completes_the_payment_once(
    tmp_path: Path, redis_server: Server, database_url: str, engine: AsyncEngine
) -> None:
    store = Store(engine)
    env = {
        "PAYGUARD_DEMO_DATA": str(tmp_path / "data"),
        "DATABASE_URL": urlunsplit(urlsplit(database_url)._replace(scheme="postgresql")),
        "REDIS_URL": redis_server.url,
        "PAYGUARD_DEMO_SECRET": "e2e-secret",  # tokens stay valid across the restart
        "PAYGUARD_SIMULATED_DELAY_SECONDS": "0",
        "PAYGUARD_IDEMPOTENCY_LOCK_TIMEOUT_SECONDS": "1",
        "PAYGUARD_DEMO_WORKER": "0",
    }
    first_port, second_port = free_port(), free_port()

    async with contextlib.AsyncExitStack() as stack:
        server = stack.enter_context(_demo(first_port, env, tmp_path / "first.log"))
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{first_port}", timeout=10)
        )
        token = (await client.post("/auth/login", json={"username": "erin"})).json()["accessToken"]
        auth = {"Authorization": f"Bearer {token}"}
        session = (await client.post("/shop/checkout", json={"productId": "pro-monthly"}, headers=auth)).json()
        url = f"/payguard/sessions/{session['id']}/complete"
        headers = {**auth, "Idempotency-Key": "complete-1"}
        # Another transaction holds the session: the request claims its key, then waits on the row lock.
        blocker = await stack.enter_async_context(engine.connect())
        await blocker.execute(text("SELECT id FROM payguard_session WHERE id = :id FOR UPDATE"), {"id": session["id"]})
        doomed = asyncio.create_task(client.post(url, json={"gatewayPaymentId": "pay_e2e"}, headers=headers))
        for _ in range(100):
            if await store.count("payguard_idempotency_key", "key = 'complete-1' AND status = 'in_progress'"):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the request never claimed its key: the kill would not test the takeover")
        server.send_signal(signal.SIGKILL)
        server.wait()
        with contextlib.suppress(httpx.HTTPError):  # the server died under it
            await doomed
        await blocker.rollback()

    assert await store.scalar("SELECT status FROM payguard_session WHERE id = :id", id=session["id"]) == "active"
    assert await store.count("payguard_idempotency_key", "key = 'complete-1' AND status = 'in_progress'") == 1
    await asyncio.sleep(1.1)  # the dead request's claim is now past its lock timeout

    async with contextlib.AsyncExitStack() as stack:
        stack.enter_context(_demo(second_port, env, tmp_path / "second.log"))
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{second_port}", timeout=30)
        )
        retried = await client.post(url, json={"gatewayPaymentId": "pay_e2e"}, headers=headers)
        replayed = await client.post(url, json={"gatewayPaymentId": "pay_e2e"}, headers=headers)

    assert retried.status_code == 200, retried.text
    assert retried.json()["payment"]["status"] == "processing"
    assert (replayed.content, replayed.headers["idempotent-replayed"]) == (retried.content, "true")
    submitted = "subject_id = :id AND type = 'session.submitted'"
    assert await store.count("payguard_event", submitted, id=session["id"]) == 1
    assert await store.count("payguard_session_event", "session_id = :id AND type = 'submitted'", id=session["id"]) == 1
