"""Worker processes on the same SQLite file as the app: the refund guarantee holds across processes.

The app (this process) admits 50 concurrent partial refunds of one Razorpay payment whose sum exceeds what was
captured, while two ``litestar payguard worker`` processes carry out the refunds admitted so far with a fake
Razorpay that refuses any refund above the captured amount. SQLite has no row locks: what keeps admission and the
recorded outcome of one payment one after the other, across the three processes, is every transaction taking the
file's write lock when it begins.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from litestar_payguard import MerchantService
from litestar_payguard.gateways.razorpay import RazorpayGateway
from litestar_payguard.testing.razorpay import FakeRazorpay
from litestar_payguard.testing.servers import Server
from tests.e2e.conftest import BIN, process
from tests.hostapp import RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET, create_app
from tests.support import Client, Store, payguard_of, serve

MERCHANT = {"X-Api-Key": "key_sqlite", "X-Api-Secret": "secret_sqlite"}
COMMAND = [str(BIN / "litestar"), "--app", "tests.hostapp:app_from_env", "payguard", "worker", "--concurrency", "5"]


async def _eventually(check: Callable[[], Awaitable[bool]], logs: list[Path], patience: float = 60) -> None:
    deadline = time.monotonic() + patience
    while not await check():
        assert time.monotonic() < deadline, "\n".join(log.read_text() for log in logs)
        await asyncio.sleep(0.1)


async def _paid_payment(client: Client, store: Store, logs: list[Path]) -> str:
    async with payguard_of(client.app).db_session() as db:
        await MerchantService(db).ensure(MERCHANT["X-Api-Key"], name="SQLite", secret=MERCHANT["X-Api-Secret"])
        await db.commit()
    body = {
        "orderId": "order-sqlite",
        "bundleId": "bundle-sqlite",
        "customerId": "cust-sqlite",
        "amount": 5000,
        "currency": "INR",
        "method": "upi",
        "vpa": "success@razorpay",
    }
    created = await client.post("/payguard/v1/payments", json=body, headers={**MERCHANT, "Idempotency-Key": "pay"})
    assert created.status_code == 201, created.text
    payment_id = str(created.json()["id"])

    async def succeeded() -> bool:
        return await store.count("payguard_payment", "status = 'succeeded'") == 1

    await _eventually(succeeded, logs)
    return payment_id


async def test_worker_processes_on_the_sqlite_file_settle_every_admitted_refund_and_no_more(
    tmp_path: Path, redis_server: Server, sqlite_url: str, sqlite_store: Store
) -> None:
    url, store = sqlite_url, sqlite_store
    queue_name = f"payguard-sqlite-{uuid.uuid4().hex[:8]}"
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    with FakeRazorpay(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET) as fake:
        gateway = RazorpayGateway(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET, base_url=fake.url)
        app = create_app(database_url=url, queue_url=redis_server.url, queue_name=queue_name, test_gateway=gateway)
        env = {
            "PAYGUARD_TEST_DATABASE_URL": url,
            "PAYGUARD_TEST_QUEUE_URL": redis_server.url,
            "PAYGUARD_TEST_QUEUE_NAME": queue_name,
            "PAYGUARD_TEST_RAZORPAY_URL": fake.url,
        }
        async with serve(app) as client:
            with process(COMMAND, env=env, log=logs[0]) as first, process(COMMAND, env=env, log=logs[1]) as second:
                payment_id = await _paid_payment(client, store, logs)
                # The workers settle the refunds admitted first while the others are still being admitted.
                responses = await asyncio.gather(
                    *(
                        client.post(
                            f"/payguard/v1/payments/{payment_id}/refunds",
                            json={"amount": 150},
                            headers={**MERCHANT, "Idempotency-Key": uuid.uuid4().hex},
                        )
                        for _ in range(50)
                    )
                )

                async def none_pending() -> bool:
                    return await store.count("payguard_refund", "status = 'pending'") == 0

                await _eventually(none_pending, logs)
                assert first.poll() is None, logs[0].read_text()
                assert second.poll() is None, logs[1].read_text()
            gateway_payment_id = await store.scalar("SELECT gateway_payment_id FROM payguard_payment")
            at_razorpay = fake.refunds(gateway_payment_id)

    outcomes = Counter(r.status_code if r.status_code == 201 else r.json()["code"] for r in responses)
    assert outcomes == {201: 33, "REFUND_EXCEEDS_AVAILABLE": 17}  # 33 x 150 = 4950 <= 5000 < 34 x 150
    assert await store.count("payguard_refund", "status = 'processed'") == 33
    assert await store.count("payguard_refund", "status <> 'processed'") == 0
    assert await store.rows("SELECT status, amount_refunded, amount_refunding FROM payguard_payment") == [
        {"status": "partially_refunded", "amount_refunded": 4950, "amount_refunding": 0}
    ]
    assert sorted(refund["status"] for refund in at_razorpay) == ["processed"] * 33
    assert sum(refund["amount"] for refund in at_razorpay) == 4950
