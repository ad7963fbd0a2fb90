"""The payment processor's single-statement steps on Postgres (``services/processing/fast_path_sql.py``).

They write what the ORM path writes, jobs sharing them never charge twice, and a webhook racing a recorded outcome has
its refund applied."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from litestar_payguard import RazorpayGateway, SystemClock
from litestar_payguard.config import FulfilmentHook
from litestar_payguard.gateways import DECLINED_VPA, RefundRequest
from litestar_payguard.models import Payment, PaymentStatus
from litestar_payguard.services.processing import PaymentProcessor
from litestar_payguard.services.processing.fast_path_sql import (
    CLAIM,
    CLAIM_MANY,
    RECORD_FINAL,
    RECORD_FINAL_MANY,
    STORE_ORDER,
    STORE_ORDER_MANY,
)
from litestar_payguard.services.webhooks import GatewayWebhookService
from litestar_payguard.testing import ManualClock
from litestar_payguard.testing.razorpay import FakeRazorpay
from tests.integration.conftest import Client, ClientFactory, Store, payguard_of
from tests.integration.test_payments_api import (
    ACME,
    ORDERS,
    PAYMENTS,
    create_payment,
    flaky_fulfilment,
    seed_merchants,
    settled,
)
from tests.integration.test_razorpay_flow import fake, razorpay  # noqa: F401  # fixtures
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


@asynccontextmanager
async def _no_orm() -> AsyncIterator[AsyncSession]:
    """The sessions of a processor that must never take the ORM path: any step that does fails the test."""
    msg = "the ORM path was taken"
    raise AssertionError(msg)
    yield  # pragma: no cover


async def test_the_statements_write_what_the_orm_path_writes(client: Client, store: Store, clock: ManualClock) -> None:
    await seed_merchants(client)
    payguard = payguard_of(client.app)
    statements = payguard.payment_statements
    assert statements is not None  # Postgres through asyncpg
    only_statements = PaymentProcessor(payguard.config, _no_orm, statements)
    orm = PaymentProcessor(payguard.config, payguard.db_session)  # no statements: the ORM for every step

    written = {}
    for label, vpa in (("paid", "success@upi"), ("declined", DECLINED_VPA), ("retried", "success@upi")):
        by_statements = await create_payment(client, vpa=vpa, metadata={"cart": "7"})
        by_orm = await create_payment(client, vpa=vpa, metadata={"cart": "7"})
        pair = [uuid.UUID(by_statements["id"]), uuid.UUID(by_orm["id"])]
        if label == "retried":  # a worker claimed both and died: the lease runs out, another worker retries
            assert None not in [await statements.claim(payment_id) for payment_id in pair]
            clock.advance(payguard.config.payment_lease_seconds + 1)
        clock.advance(1.5)
        steps = [await only_statements.process(pair[0]), await orm.process(pair[1])]
        assert [step.status for step in steps] == [steps[0].status] * 2
        assert steps[0].status is not None
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
    retried_row, retried_events = written["retried"][0]
    assert (retried_row["status"], retried_row["process_attempts"]) == ("succeeded", 2)
    assert len(retried_events) == 3  # one processing event: a retry changes no status


async def test_a_success_with_a_hook_commits_the_statement_and_the_hook_together_as_the_orm_path_does(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await store.execute(ORDERS)
    await store.execute("TRUNCATE host_order")
    await seed_merchants(client)
    payguard = payguard_of(client.app)
    hooks = [flaky_fulfilment(failures=1), flaky_fulfilment(failures=1)]  # each fails its first call
    seen: dict[int, list[tuple[Any, ...]]] = {0: [], 1: []}

    def observed(index: int, hook: FulfilmentHook) -> FulfilmentHook:
        """The hook, noting the payment it is given and marking it as a host's hook may."""

        async def hook_seeing(payment: Payment, db: AsyncSession) -> None:
            seen[index].append((payment.status, payment.gateway_payment_id is not None, payment.process_at))
            payment.extra = {**payment.extra, "fulfilled": "yes"}
            await hook(payment, db)

        return hook_seeing

    by_statements, orm = (
        PaymentProcessor(
            replace(payguard.config, on_payment_succeeded=observed(index, hook)), payguard.db_session, statements
        )
        for index, ((hook, _), statements) in enumerate(zip(hooks, (payguard.payment_statements, None), strict=True))
    )
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    engine = payguard.sqlalchemy_config.get_engine().sync_engine
    created = [await create_payment(client, metadata={"cart": "7"}) for _ in range(2)]
    pairs = [(by_statements, uuid.UUID(created[0]["id"])), (orm, uuid.UUID(created[1]["id"]))]
    clock.advance(1.5)
    first = [await processor.process(payment_id) for processor, payment_id in pairs]  # the hook fails once
    clock.advance(payguard.config.fulfilment_retry_seconds + 1)
    event.listen(engine, "before_cursor_execute", record)
    try:
        second = [await by_statements.process(pairs[0][1])]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    second.append(await orm.process(pairs[1][1]))
    written = [await _written(store, payment["id"]) for payment in created]

    assert [step.status for step in first] == [PaymentStatus.PROCESSING] * 2  # nothing of a failed hook stands
    assert [step.status for step in second] == [PaymentStatus.SUCCEEDED] * 2
    assert [len(calls) for _, calls in hooks] == [2, 2]
    # The statements path's success went through the settling statement, never through the ORM's locking read.
    assert any("WITH given" in statement for statement in sent)
    assert not any("FOR UPDATE" in statement and "SKIP LOCKED" not in statement for statement in sent)
    assert written[0] == written[1]
    assert written[0][0]["status"] == "succeeded"
    assert await store.count("host_order") == 2  # one order for each payment: the failed attempt's rolled back
    # The hook is given the payment as settled, on both paths, and what it changes on it commits with the success.
    assert seen[0] == seen[1] == [(PaymentStatus.SUCCEEDED, True, None)] * 2
    stored = await store.rows(
        "SELECT metadata FROM payguard_payment WHERE id IN (:a, :b)", a=created[0]["id"], b=created[1]["id"]
    )
    assert [row["metadata"] for row in stored] == [{"cart": "7", "fulfilled": "yes"}] * 2


async def test_concurrent_jobs_share_statements_and_a_payment_two_jobs_hold_is_captured_once(
    client_for: ClientFactory,
    fake: FakeRazorpay,  # noqa: F811
    razorpay: RazorpayGateway,  # noqa: F811
    store: Store,
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        await seed_merchants(client)
        created = [
            await create_payment(client, customerId=f"cust-{index}", vpa="success@razorpay") for index in range(30)
        ]
        ids = [uuid.UUID(payment["id"]) for payment in created]
        processor = payguard_of(client.app).payment_processor()

        # One process, one event loop: 40 jobs at once, ten of them a second job for a payment (a job and the
        # reconciler's, say). Their steps queue behind each other's statements and share the next ones.
        steps = await asyncio.gather(*(processor.process(payment_id) for payment_id in ids + ids[:10]))

    assert {step.status for step in steps} <= {PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING}
    assert await store.count("payguard_payment", "status = 'succeeded'") == 30
    assert fake.captures_by_receipt() == {str(payment_id): 1 for payment_id in ids}
    events = await store.rows("SELECT type, count(*) AS n FROM payguard_event GROUP BY type")
    assert {row["type"]: row["n"] for row in events} == {
        "payment.created": 30,
        "payment.processing": 30,
        "payment.succeeded": 30,
    }


@pytest.mark.parametrize("at_lease_end", [False, True], ids=["during the lease", "as the lease ends"])
async def test_a_refund_deferred_while_a_worker_settles_is_applied_with_the_success(
    client_for: ClientFactory,
    fake: FakeRazorpay,  # noqa: F811
    razorpay: RazorpayGateway,  # noqa: F811
    store: Store,
    clock: ManualClock,
    at_lease_end: bool,
) -> None:
    async with client_for(test_gateway=razorpay) as client:
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
        lease = await store.scalar("SELECT process_at FROM payguard_payment WHERE id = :id", id=created["id"])
        if at_lease_end:  # the webhook's "due now" is the lease's own end: it must still change the row
            clock.advance((lease - clock.now()).total_seconds())
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
            # The settling statement relies on this: deferring an event changes the payment's row (it is due now).
            due = await db.scalar(select(Payment.process_at).where(Payment.id == uuid.UUID(created["id"])))

            async def waiting() -> bool:  # the worker's recorded outcome, on the ORM path, waits for this lock
                return await store.count("pg_locks", "NOT granted") > 0

            await eventually(waiting)
            await db.commit()
        step = await worker
        after = (await client.get(f"{PAYMENTS}/{created['id']}", headers=ACME)).json()

    assert receipt.outcome == "deferred"
    assert due != lease  # what the settling statement checks, on the newest version of the row
    assert due <= clock.now()
    assert step.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (after["status"], after["amountRefunded"]) == ("partially_refunded", 1200)
    assert await store.count("payguard_gateway_event", "applied_at IS NULL") == 0
    refund = (await store.rows("SELECT status, amount FROM payguard_refund"))[0]
    assert (refund["status"], refund["amount"]) == ("processed", 1200)
    assert fake.captures_by_receipt() == {created["id"]: 1}


async def test_the_statements_connections_close_with_the_application(client_for: ClientFactory, store: Store) -> None:
    others = "pid <> pg_backend_pid() AND datname = current_database()"
    before = await store.count("pg_stat_activity", others)
    async with client_for(run_worker_in_app=True, clock=SystemClock()) as client:
        await seed_merchants(client)
        created = await create_payment(client)
        assert await settled(client, created["id"]) == "succeeded"
        assert payguard_of(client.app).payment_statements is not None
        during = await store.count("pg_stat_activity", others)

    async def closed() -> bool:
        return await store.count("pg_stat_activity", others) == before

    assert during > before
    await eventually(closed)


BACKLOG = 5000
PENDING = """
INSERT INTO payguard_payment (
    id, merchant_id, customer_id, bundle_id, amount, currency, status, mode, gateway, amount_refunded,
    amount_refunding, metadata, method, method_details, process_at, process_attempts, fulfilment_attempts,
    needs_attention, created_at, updated_at)
SELECT gen_random_uuid(), :merchant, 'backlog-' || g, 'bundle-' || g, 4900, 'INR', 'pending', 'test', 'simulated',
    0, 0, '{}'::jsonb, 'upi', '{}'::jsonb, :now, 0, 0, false, :now, :now
FROM generate_series(1, :count) AS g
"""


def _payments_read(plan: dict[str, Any]) -> list[int]:
    """How many rows each scan of ``payguard_payment`` in an ``EXPLAIN (ANALYZE, FORMAT JSON)`` plan read."""
    read = []
    if plan.get("Relation Name") == "payguard_payment" and plan["Node Type"].endswith("Scan"):
        kept = (
            plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0) + plan.get("Rows Removed by Index Recheck", 0)
        )
        read.append(kept * plan["Actual Loops"])
    for child in plan.get("Plans", []):
        read.extend(_payments_read(child))
    return read


async def test_each_statement_reads_only_its_own_payments_whatever_the_backlog(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await seed_merchants(client)
    payguard = payguard_of(client.app)
    statements = payguard.payment_statements
    assert statements is not None
    merchant = await store.scalar("SELECT id FROM payguard_merchant WHERE api_key = 'key_acme'")
    await store.execute(PENDING, merchant=merchant, now=clock.now(), count=BACKLOG)
    await store.execute("ANALYZE payguard_payment")  # the statistics have seen pending payments only
    ids = [row["id"] for row in await store.rows("SELECT id FROM payguard_payment ORDER BY id")]
    await store.execute(  # a backlog of payments in processing, as claims leave them: a slow gateway, say
        "UPDATE payguard_payment SET status = 'processing', processing_started_at = :now, process_attempts = 1,"
        " process_at = CAST(:now AS timestamptz) + make_interval(secs => 120 + random()) WHERE id <> ALL(:fresh)",
        now=clock.now(),
        fresh=ids[-20:],
    )
    leases = {row["id"]: row["process_at"] for row in await store.rows("SELECT id, process_at FROM payguard_payment")}
    now, one, five, fresh = clock.now(), ids[0], ids[1:6], ids[-5:]
    explained = {
        "claim": (CLAIM, ids[-6], now, now, None),
        "claim many": (CLAIM_MANY, fresh, now, now, [None] * 5),
        "store order": (STORE_ORDER, one, "order_one"),
        "store order many": (STORE_ORDER_MANY, five, [f"order_{n}" for n in range(5)]),
        "record final": (RECORD_FINAL, one, leases[one], "succeeded", now, "pay_one", None, None, None),
        "record final many": (
            RECORD_FINAL_MANY,
            five,
            [leases[payment_id] for payment_id in five],
            ["succeeded"] * 5,
            now,
            [f"pay_{n}" for n in range(5)],
            [None] * 5,
            [None] * 5,
            [None] * 5,
        ),
    }
    read, answered = {}, {}
    async with store.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        for label, (sql, *args) in explained.items():
            transaction = raw.transaction()  # EXPLAIN ANALYZE runs the statement: it is rolled back
            await transaction.start()
            (plan,) = await raw.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)  # decoded by the dialect
            await transaction.rollback()
            read[label], answered[label] = _payments_read(plan["Plan"]), plan["Plan"]["Actual Rows"]

    assert answered == {label: 5 if label.endswith("many") else 1 for label in explained}  # each did its step
    for label, scans in read.items():
        assert scans, label
        assert max(scans) <= answered[label], (label, scans)  # never the backlog
