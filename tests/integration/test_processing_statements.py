"""The payment processor's single-statement steps on Postgres (``services/processing_sql.py``): they write what the
ORM path writes, and a webhook racing a worker's settlement still has its refund applied."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar_payguard import RazorpayGateway, SimulatedGateway
from litestar_payguard.gateways import DECLINED_VPA, RefundRequest
from litestar_payguard.models import PaymentStatus
from litestar_payguard.services.gateway_webhooks import GatewayWebhookService
from litestar_payguard.services.processing import PaymentProcessor
from litestar_payguard.testing import ManualClock
from litestar_payguard.testing.razorpay import FakeRazorpay
from tests.integration.conftest import Client, ClientFactory, Store, payguard_of
from tests.integration.test_payments_api import ACME, PAYMENTS, create_payment, seed_merchants
from tests.integration.test_razorpay_flow import HOOKS, fake, razorpay  # noqa: F401  # fixtures
from tests.support import eventually

PAYMENT_COLUMNS = (
    "status, process_at, process_attempts, processing_started_at, gateway_payment_id IS NOT NULL AS paid,"
    " gateway_order_id IS NOT NULL AS ordered, failure_code, failure_message, needs_attention"
)
"""All but ``updated_at``: the statements write payguard's clock there, the ORM path advanced-alchemy's wall clock."""
DIFFERENT_PER_PAYMENT = {"id", "orderId", "bundleId", "gatewayOrderId", "gatewayPaymentId"}


async def _written(store: Store, payment_id: str) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The payment's row, and its events with their payloads (minus what differs from payment to payment)."""
    (row,) = await store.rows(f"SELECT {PAYMENT_COLUMNS} FROM payguard_payment WHERE id = :id", id=payment_id)
    events = await store.rows(
        "SELECT type, payload, occurred_at, created_at FROM payguard_event WHERE subject_id = :id "
        "ORDER BY occurred_at, type",
        id=payment_id,
    )
    return row, [
        (
            f"{event['type']} at {event['occurred_at'].isoformat()}/{event['created_at'].isoformat()}",
            {key: value for key, value in event["payload"].items() if key not in DIFFERENT_PER_PAYMENT},
        )
        for event in events
    ]


async def test_the_statements_write_what_the_orm_path_writes(client: Client, store: Store, clock: ManualClock) -> None:
    await seed_merchants(client)
    payguard = payguard_of(client.app)
    statements = payguard.payment_processor()
    orm = PaymentProcessor(payguard.config, payguard.db_session)  # no statements: the ORM for every step
    assert statements._statements is not None  # Postgres through asyncpg

    written = {}
    for label, vpa in (("paid", "success@upi"), ("declined", DECLINED_VPA)):
        by_statements = await create_payment(client, vpa=vpa, metadata={"cart": "7"})
        by_orm = await create_payment(client, vpa=vpa, metadata={"cart": "7"})
        clock.advance(1.5)
        steps = [await statements.process(uuid.UUID(by_statements["id"])), await orm.process(uuid.UUID(by_orm["id"]))]
        assert [step.status for step in steps] == [steps[0].status] * 2
        written[label] = [await _written(store, by_statements["id"]), await _written(store, by_orm["id"])]
        view = (await client.get(f"{PAYMENTS}/{by_statements['id']}", headers=ACME)).json()
        (last,) = await store.rows(
            "SELECT payload FROM payguard_event WHERE subject_id = :id AND type = :type",
            id=by_statements["id"],
            type=f"payment.{view['status']}",
        )
        assert {key: view[key] for key in last["payload"]} == last["payload"]  # the event renders it as the API

    for label, (by_statements, by_orm) in written.items():
        assert by_statements == by_orm, label
    paid_row, paid_events = written["paid"][0]
    assert (paid_row["status"], paid_row["process_at"], paid_row["process_attempts"]) == ("succeeded", None, 1)
    assert [name.split()[0] for name, _ in paid_events] == [
        "payment.created",
        "payment.processing",
        "payment.succeeded",
    ]
    declined_row, _ = written["declined"][0]
    assert (declined_row["status"], declined_row["failure_code"]) == ("failed", "card_declined")


async def test_steps_of_concurrent_jobs_share_statements_and_each_payment_is_charged_once(
    client: Client, store: Store
) -> None:
    await seed_merchants(client)
    payguard = payguard_of(client.app)
    gateway = payguard.config.gateway
    assert isinstance(gateway, SimulatedGateway)
    created = [await create_payment(client, customerId=f"cust-{index}") for index in range(30)]
    ids = [uuid.UUID(payment["id"]) for payment in created]
    processor = payguard.payment_processor()

    # One process, one event loop: 35 jobs at once, five of them a second job for the same payment.
    steps = await asyncio.gather(*(processor.process(payment_id) for payment_id in ids + ids[:5]))

    assert {step.status for step in steps[:30]} <= {PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING}
    assert await store.count("payguard_payment", "status = 'succeeded' AND process_attempts = 1") == 30
    assert {str(payment_id): gateway.charges[str(payment_id)] for payment_id in ids} == {
        str(payment_id): 1 for payment_id in ids
    }
    events = await store.rows("SELECT type, count(*) AS n FROM payguard_event GROUP BY type")
    assert {row["type"]: row["n"] for row in events} == {
        "payment.created": 30,
        "payment.processing": 30,
        "payment.succeeded": 30,
    }


async def test_a_refund_deferred_while_a_worker_settles_is_applied_with_the_success(
    client_for: ClientFactory,
    fake: FakeRazorpay,  # noqa: F811
    razorpay: RazorpayGateway,  # noqa: F811
    store: Store,
) -> None:
    async with client_for(gateway=razorpay) as client:
        await seed_merchants(client)
        created = await create_payment(client, vpa="success@razorpay")
        payguard = payguard_of(client.app)
        fake.response_delays["capture"] = 2.0  # the money moves; the worker hears of it two seconds later
        worker = asyncio.create_task(payguard.payment_processor().process(uuid.UUID(created["id"])))

        async def captured() -> str | None:
            order_id = await store.scalar(
                "SELECT gateway_order_id FROM payguard_payment WHERE id = :id", id=created["id"]
            )
            paid = [p["id"] for p in fake.payments(order_id) if p["status"] == "captured"] if order_id else []
            return paid[0] if paid else None

        gateway_payment_id = await eventually(captured)
        # Refunded from the Razorpay dashboard before the worker recorded the capture.
        await razorpay.refund(
            RefundRequest(
                refund_id=uuid.uuid4(),
                payment_id=uuid.UUID(created["id"]),
                gateway_payment_id=gateway_payment_id,
                amount=1200,
                currency="INR",
                idempotency_key="dashboard",
            )
        )
        headers, body = fake.webhook("refund.processed", refund_id=fake.refunds(gateway_payment_id)[0]["id"])
        async with payguard.db_session() as db:
            receipt = await GatewayWebhookService(db, payguard.config).receive("razorpay", headers, body)
            assert receipt.outcome == "deferred"

            async def waiting() -> bool:  # the worker's settling statement waits for this transaction's lock
                return await store.count("pg_locks", "NOT granted") > 0

            await eventually(waiting)
            await db.commit()
        step = await worker
        after = (await client.get(f"{PAYMENTS}/{created['id']}", headers=ACME)).json()

    assert step.status is not None
    assert (after["status"], after["amountRefunded"]) == ("partially_refunded", 1200)
    assert await store.count("payguard_gateway_event", "applied_at IS NULL") == 0
    refund = (await store.rows("SELECT status, amount FROM payguard_refund"))[0]
    assert (refund["status"], refund["amount"]) == ("processed", 1200)
    assert fake.captures_by_receipt() == {created["id"]: 1}
    assert HOOKS  # the route the same webhook takes over HTTP
