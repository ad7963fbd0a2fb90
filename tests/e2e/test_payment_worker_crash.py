"""A worker killed (SIGKILL) in the middle of processing payments charges nobody twice; one stopped (SIGTERM)
hands its payments on at once.

Twenty merchant-API payments go through Razorpay's server-to-server flow (order → UPI payment → capture) against
a fake Razorpay whose capture answers come late: the capture is made at once, its answer held. Worker process 1 is
killed while every one of its job slots waits for such an answer, so money has moved for those payments and
payguard has not recorded it. Worker process 2 finishes the queued payments, and its reconciler (on a one-second
cron) hands it the dead worker's payments once their leases run out; it asks Razorpay where each stands before
charging. Every payment succeeds, with exactly one capture and one ``payment.succeeded`` event each.

A worker stopped with SIGTERM (a deploy) takes no new job and lets its running ones finish within its grace
period. Jobs still running after it are cancelled, as SAQ does; each cancelled step gives its lease back and SAQ
retries its job, so the next worker settles those payments at once rather than after the lease (two minutes by
default): the leases here are the default ones, and the reconciler runs once a minute.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from litestar_payguard import MerchantService
from litestar_payguard.gateways.razorpay import RazorpayGateway
from litestar_payguard.testing.razorpay import FakeRazorpay
from litestar_payguard.testing.servers import Server
from tests.e2e.conftest import BIN, process
from tests.hostapp import RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET, create_app
from tests.support import Client, Store, payguard_of, serve

PAYMENTS = 20
CONCURRENCY = 5
LEASE_SECONDS = 5
CAPTURE_ANSWER_SECONDS = 2.0
MERCHANT = {"X-Api-Key": "key_crash", "X-Api-Secret": "secret_crash"}
OPEN = "status IN ('pending', 'processing')"


async def _create_payments(client: Client) -> list[str]:
    async with payguard_of(client.app).db_session() as db:
        await MerchantService(db).ensure(MERCHANT["X-Api-Key"], name="Crash", secret=MERCHANT["X-Api-Secret"])
        await db.commit()
    ids = []
    for number in range(PAYMENTS):
        body = {
            "orderId": f"order-{number}",
            "bundleId": f"bundle-{number}",
            "customerId": f"cust-{number}",
            "amount": 5000,
            "currency": "INR",
            "method": "upi",
            "vpa": "success@razorpay",
        }
        response = await client.post(
            "/payguard/v1/payments", json=body, headers={**MERCHANT, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert response.status_code == 201, response.text
        ids.append(str(response.json()["id"]))
    return ids


def _text(log: Path) -> str:
    return log.read_text()


async def _until(condition: Callable[[], Awaitable[Any]], what: str, log: Path, patience: float) -> Any:
    deadline = time.monotonic() + patience
    while not (result := await condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}; worker log:\n{_text(log)}"
        await asyncio.sleep(0.05)
    return result


def _captured(fake: FakeRazorpay) -> set[str]:
    """Our payments Razorpay captured (money moved); its orders that were never paid count 0, so are left out."""
    return {receipt for receipt, count in fake.captures_by_receipt().items() if count}


async def _succeeded(store: Store) -> set[str]:
    return {str(row["id"]) for row in await store.rows("SELECT id FROM payguard_payment WHERE status = 'succeeded'")}


COMMAND = [str(BIN / "litestar"), "--app", "tests.hostapp:app_from_env", "payguard", "worker"]


async def _seed(database_url: str, redis_server: Server, queue_name: str, fake: FakeRazorpay) -> list[str]:
    """The merchant API in this process, without a worker: its payments wait in the queue for the CLI workers."""
    fake.response_delays["capture"] = CAPTURE_ANSWER_SECONDS
    gateway = RazorpayGateway(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET, base_url=fake.url)
    app = create_app(database_url=database_url, queue_url=redis_server.url, queue_name=queue_name, test_gateway=gateway)
    async with serve(app) as client:
        return await _create_payments(client)


def _environment(database_url: str, redis_server: Server, queue_name: str, fake: FakeRazorpay) -> dict[str, str]:
    return {
        "PAYGUARD_TEST_DATABASE_URL": database_url,
        "PAYGUARD_TEST_QUEUE_URL": redis_server.url,
        "PAYGUARD_TEST_QUEUE_NAME": queue_name,
        "PAYGUARD_TEST_RAZORPAY_URL": fake.url,
        "PAYGUARD_WORKER_CONCURRENCY": str(CONCURRENCY),
    }


async def _interrupt_mid_capture(
    env: dict[str, str], log: Path, fake: FakeRazorpay, store: Store, signum: signal.Signals
) -> tuple[int, set[str]]:
    """Run a CLI worker until every job slot waits for a capture's answer, then send it ``signum``.

    Returns:
        The worker's exit code, and the payments Razorpay captured that payguard had not recorded as paid.
    """
    with process(COMMAND, env=env, log=log) as worker:

        async def captured_unrecorded() -> set[str]:
            # Captured at Razorpay, its answer still held: payguard has not recorded it.
            unrecorded = _captured(fake) - await _succeeded(store)
            return unrecorded if len(unrecorded) >= CONCURRENCY else set()

        await _until(captured_unrecorded, f"{CONCURRENCY} captures in flight", log, patience=30)
        worker.send_signal(signum)
        worker.wait(timeout=20)
    return worker.returncode, _captured(fake) - await _succeeded(store)


async def _finish_with_a_new_worker(env: dict[str, str], log: Path, store: Store, patience: float) -> None:
    """Start another CLI worker and wait until every payment is final; it must still be running, then stop cleanly."""
    with process(COMMAND, env=env, log=log) as worker:

        async def all_final() -> bool:
            return await store.count("payguard_payment", f"NOT ({OPEN})") == PAYMENTS

        await _until(all_final, "every payment to reach a final state", log, patience=patience)
        assert worker.poll() is None, _text(log)
    assert worker.returncode == 0, _text(log)


async def test_a_worker_killed_mid_capture_charges_every_payment_exactly_once(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    queue_name = f"payguard-paycrash-{uuid.uuid4().hex[:8]}"
    with FakeRazorpay(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET) as fake:
        ids = await _seed(database_url, redis_server, queue_name, fake)
        env = {
            **_environment(database_url, redis_server, queue_name, fake),
            "PAYGUARD_PAYMENT_LEASE_SECONDS": str(LEASE_SECONDS),
            "PAYGUARD_RECONCILE_CRON": "* * * * * */1",  # croniter's sixth field: every second
        }
        first_log = tmp_path / "worker-1.log"
        returncode, in_flight = await _interrupt_mid_capture(env, first_log, fake, store, signal.SIGKILL)
        assert returncode == -signal.SIGKILL

        # The kill really interrupted processing: money moved for payments payguard has not recorded as paid.
        open_after_kill = await store.count("payguard_payment", OPEN)
        processing = await store.rows(
            "SELECT id FROM payguard_payment WHERE status = 'processing' AND id = ANY(CAST(:ids AS uuid[]))",
            ids=list(in_flight),
        )
        assert len(in_flight) >= CONCURRENCY
        assert {str(row["id"]) for row in processing} == in_flight
        assert open_after_kill >= CONCURRENCY

        await _finish_with_a_new_worker(env, tmp_path / "worker-2.log", store, patience=60)

        captures = fake.captures_by_receipt()

    statuses = await store.rows("SELECT id, status, process_attempts FROM payguard_payment")
    assert {str(row["id"]): row["status"] for row in statuses} == dict.fromkeys(ids, "succeeded")
    # Exactly one charge per payment, the dead worker's unrecorded captures included.
    assert captures == dict.fromkeys(ids, 1)
    # The dead worker's payments were taken up again (a second claim), and settled from Razorpay's answer.
    attempts = {str(row["id"]): row["process_attempts"] for row in statuses}
    assert all(attempts[payment_id] >= 2 for payment_id in in_flight), attempts
    events = await store.rows(
        "SELECT subject_id, count(*) AS n FROM payguard_event WHERE type = 'payment.succeeded' GROUP BY subject_id"
    )
    assert {str(row["subject_id"]): row["n"] for row in events} == dict.fromkeys(ids, 1)


async def test_a_worker_stopped_mid_capture_finishes_its_running_payments_and_takes_no_new_one(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    queue_name = f"payguard-paydrain-{uuid.uuid4().hex[:8]}"
    with FakeRazorpay(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET) as fake:
        ids = await _seed(database_url, redis_server, queue_name, fake)
        env = _environment(database_url, redis_server, queue_name, fake)  # the default grace (20 s)
        first_log = tmp_path / "worker-1.log"
        returncode, unrecorded = await _interrupt_mid_capture(env, first_log, fake, store, signal.SIGTERM)
        assert returncode == 0, first_log.read_text()
        # The captures in flight at the signal were heard and recorded before the worker exited ...
        assert unrecorded == set()
        finished = await _succeeded(store)
        assert len(finished) >= CONCURRENCY
        attempts = await store.rows("SELECT id, status, process_attempts FROM payguard_payment")
        # ... and no job started after it: every other payment waits untouched for the next worker.
        untouched = {str(row["id"]) for row in attempts if (row["status"], row["process_attempts"]) == ("pending", 0)}
        assert untouched == set(ids) - finished
        assert all(row["process_attempts"] == 1 for row in attempts if str(row["id"]) in finished)

        await _finish_with_a_new_worker(env, tmp_path / "worker-2.log", store, patience=30)
        captures = fake.captures_by_receipt()

    assert "cancel" not in _text(first_log).lower()
    assert await _succeeded(store) == set(ids)
    assert captures == dict.fromkeys(ids, 1)


async def test_a_worker_stopped_past_its_grace_hands_its_payments_on_at_once_and_charges_once(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    queue_name = f"payguard-paystop-{uuid.uuid4().hex[:8]}"
    with FakeRazorpay(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET) as fake:
        ids = await _seed(database_url, redis_server, queue_name, fake)
        env = {  # the default lease and reconciler; a grace shorter than the held capture answers
            **_environment(database_url, redis_server, queue_name, fake),
            "PAYGUARD_WORKER_SHUTDOWN_GRACE_SECONDS": str(CAPTURE_ANSWER_SECONDS / 4),
        }
        first_log = tmp_path / "worker-1.log"
        returncode, in_flight = await _interrupt_mid_capture(env, first_log, fake, store, signal.SIGTERM)
        assert returncode == 0, first_log.read_text()
        assert len(in_flight) >= CONCURRENCY  # the stop interrupted captures whose answers were still held
        # Each interrupted step gave its lease back: its payment is due now, not held for two minutes.
        held = await store.count(
            "payguard_payment", "id = ANY(CAST(:ids AS uuid[])) AND NOT (process_at <= now())", ids=list(in_flight)
        )

        # Well inside the lease: the stopped worker's payments did not wait for theirs to run out.
        await _finish_with_a_new_worker(env, tmp_path / "worker-2.log", store, patience=30)
        captures = fake.captures_by_receipt()

    assert held == 0
    statuses = await store.rows("SELECT id, status FROM payguard_payment")
    assert {str(row["id"]): row["status"] for row in statuses} == dict.fromkeys(ids, "succeeded")
    assert captures == dict.fromkeys(ids, 1)
