"""The merchant API: payments executed by real SAQ workers, refunds, the fulfilment hook, the reconciler."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from litestar_payguard import MerchantPaymentService, MerchantService, SimulatedGateway, SystemClock
from litestar_payguard.gateways import DECLINED_VPA
from litestar_payguard.models import Payment
from litestar_payguard.schemas.merchant import PaymentCreate
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import (
    ALICE,
    ON_BOTH_DATABASES,
    Client,
    ClientFactory,
    Store,
    create_session,
    payguard_of,
)
from tests.support import eventually, silent_server, work_off

PAYMENTS = "/payguard/v1/payments"
ACME = {"X-Api-Key": "key_acme", "X-Api-Secret": "secret_acme"}
GLOBEX = {"X-Api-Key": "key_globex", "X-Api-Secret": "secret_globex"}


async def seed_merchants(client: Client) -> None:
    async with payguard_of(client.app).db_session() as db:
        await MerchantService(db).ensure("key_acme", name="Acme", secret="secret_acme")
        await MerchantService(db).ensure("key_globex", name="Globex", secret="secret_globex")
        await db.commit()


def keyed(headers: dict[str, str] = ACME) -> dict[str, str]:
    return {**headers, "Idempotency-Key": uuid.uuid4().hex}


def payment_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "orderId": f"order-{uuid.uuid4().hex[:6]}",
        "bundleId": f"bundle-{uuid.uuid4().hex[:6]}",
        "customerId": "cust-1",
        "amount": 5000,
        "currency": "INR",
        "method": "upi",
        "vpa": "success@upi",
    }
    body.update(overrides)
    return body


async def create_payment(client: Client, headers: dict[str, str] = ACME, **overrides: Any) -> dict[str, Any]:
    response = await client.post(PAYMENTS, json=payment_body(**overrides), headers=keyed(headers))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def status_of(client: Client, payment_id: str, headers: dict[str, str] = ACME) -> str:
    return str((await client.get(f"{PAYMENTS}/{payment_id}", headers=headers)).json()["status"])


async def settled(client: Client, payment_id: str, final: set[str] | None = None) -> str:
    final = final or {"succeeded", "failed"}

    async def check() -> str | None:
        status = await status_of(client, payment_id)
        return status if status in final else None

    return str(await eventually(check))


async def test_a_worker_takes_a_payment_from_pending_to_succeeded(client_for: ClientFactory, store: Store) -> None:
    gateway = SimulatedGateway()
    async with client_for(run_worker_in_app=True, clock=SystemClock(), test_gateway=gateway) as client:
        await seed_merchants(client)
        payment = await create_payment(client, orderId="order-42", method="card", vpa=None)
        final = await settled(client, payment["id"])
        body = (await client.get(f"{PAYMENTS}/{payment['id']}", headers=ACME)).json()

    assert (payment["status"], payment["orderId"], payment["method"]) == ("pending", "order-42", "card")
    assert final == "succeeded"
    assert body["gatewayPaymentId"] == f"sim_pay_{uuid.UUID(payment['id']).hex}"
    assert body["gatewayOrderId"] == f"sim_order_{uuid.UUID(payment['id']).hex}"
    assert gateway.charges == {payment["id"]: 1}
    assert await store.event_types(payment["id"]) == ["payment.created", "payment.processing", "payment.succeeded"]


async def test_a_declined_payment_fails_with_the_gateways_reason(client_for: ClientFactory, store: Store) -> None:
    async with client_for(run_worker_in_app=True, clock=SystemClock()) as client:
        await seed_merchants(client)
        payment = await create_payment(client, vpa=DECLINED_VPA)
        final = await settled(client, payment["id"])
        body = (await client.get(f"{PAYMENTS}/{payment['id']}", headers=ACME)).json()

    assert final == "failed"
    assert body["failureCode"] == "card_declined"
    assert await store.event_types(payment["id"]) == ["payment.created", "payment.processing", "payment.failed"]


async def test_creates_need_api_keys_an_idempotency_key_and_valid_input(client: Client, store: Store) -> None:
    await seed_merchants(client)
    anonymous = await client.post(PAYMENTS, json=payment_body(), headers={"Idempotency-Key": "k1"})
    wrong = await client.post(PAYMENTS, json=payment_body(), headers={**keyed(), "X-Api-Secret": "nope"})
    unkeyed = await client.post(PAYMENTS, json=payment_body(), headers=ACME)
    no_vpa = await client.post(PAYMENTS, json=payment_body(vpa=None), headers=keyed())
    vpa_on_card = await client.post(PAYMENTS, json=payment_body(method="card"), headers=keyed())
    float_amount = await client.post(PAYMENTS, json=payment_body(amount=10.5), headers=keyed())
    bad_method = await client.post(PAYMENTS, json=payment_body(method="cash"), headers=keyed())

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "AUTHENTICATION_REQUIRED")
    assert wrong.status_code == 401
    assert (unkeyed.status_code, unkeyed.json()["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")
    for response in (no_vpa, vpa_on_card, float_amount, bad_method):
        assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_FAILED"), response.text
    assert await store.count("payguard_payment") == 0


async def test_the_pending_guard_applies_to_the_merchant_api(client: Client, store: Store) -> None:
    await seed_merchants(client)
    first = await create_payment(client, bundleId="gold")
    again = await client.post(PAYMENTS, json=payment_body(bundleId="gold"), headers=keyed())
    other_customer = await client.post(PAYMENTS, json=payment_body(bundleId="gold", customerId="c2"), headers=keyed())

    assert (again.status_code, again.json()["code"]) == (409, "PENDING_SAME_BUNDLE")
    assert again.json()["conflicts"][0]["id"] == first["id"]
    assert other_customer.status_code == 201
    assert await store.count("payguard_payment") == 2


async def test_lists_filter_and_page_with_a_cursor_and_never_show_other_merchants(
    client: Client, clock: ManualClock
) -> None:
    await seed_merchants(client)
    made = []
    for index in range(5):
        made.append(await create_payment(client, customerId="pager" if index % 2 == 0 else "other"))
        clock.advance(1)
    foreign = await create_payment(client, GLOBEX)

    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(PAYMENTS, params=params, headers=ACME)).json()
        pages.append([item["id"] for item in page["items"]])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    filtered = (await client.get(PAYMENTS, params={"customerId": "pager", "status": "pending"}, headers=ACME)).json()
    ranged = (
        await client.get(
            PAYMENTS,
            params={"createdFrom": made[1]["createdAt"], "createdTo": made[3]["createdAt"]},
            headers=ACME,
        )
    ).json()
    bad_cursor = await client.get(PAYMENTS, params={"cursor": "%%%"}, headers=ACME)
    hidden = await client.get(f"{PAYMENTS}/{foreign['id']}", headers=ACME)

    assert pages == [[made[4]["id"], made[3]["id"]], [made[2]["id"], made[1]["id"]], [made[0]["id"]]]
    assert [item["id"] for item in filtered["items"]] == [made[4]["id"], made[2]["id"], made[0]["id"]]
    assert [item["id"] for item in ranged["items"]] == [made[2]["id"], made[1]["id"]]
    assert (bad_cursor.status_code, bad_cursor.json()["code"]) == (422, "INVALID_CURSOR")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "PAYMENT_NOT_FOUND")


async def _paid(client: Client, amount: int = 5000) -> dict[str, Any]:
    payment = await create_payment(client, amount=amount)
    await work_off(client.app)
    assert await status_of(client, payment["id"]) == "succeeded"
    return payment


async def _refund(client: Client, payment_id: str, **body: Any) -> Any:
    return await client.post(f"{PAYMENTS}/{payment_id}/refunds", json=body, headers=keyed())


async def test_full_partial_and_multiple_partial_refunds(client: Client, store: Store, clock: ManualClock) -> None:
    await seed_merchants(client)
    whole = await _paid(client)
    full = await _refund(client, whole["id"], reason="customer asked")
    await work_off(client.app)

    parts = await _paid(client)
    first = await _refund(client, parts["id"], amount=1200)
    await work_off(client.app)
    after_first = (await client.get(f"{PAYMENTS}/{parts['id']}", headers=ACME)).json()
    clock.advance(1)
    await _refund(client, parts["id"], amount=800)
    clock.advance(1)
    third = await _refund(client, parts["id"])  # the rest: 3000
    too_much = await _refund(client, parts["id"], amount=1)
    await work_off(client.app)
    listed = (await client.get(f"{PAYMENTS}/{parts['id']}/refunds", headers=ACME)).json()["items"]
    one = (await client.get(f"/payguard/v1/refunds/{first.json()['id']}", headers=ACME)).json()
    after_all = await _refund(client, parts["id"], amount=1)

    assert (full.status_code, full.json()["status"], full.json()["amount"]) == (201, "pending", 5000)
    assert await status_of(client, whole["id"]) == "refunded"
    assert (first.status_code, after_first["status"], after_first["amountRefunded"]) == (
        201,
        "partially_refunded",
        1200,
    )
    assert third.json()["amount"] == 3000
    assert (too_much.status_code, too_much.json()["code"], too_much.json()["available"]) == (
        422,
        "REFUND_EXCEEDS_AVAILABLE",
        0,
    )
    assert [(item["amount"], item["status"]) for item in listed] == [
        (1200, "processed"),
        (800, "processed"),
        (3000, "processed"),
    ]
    assert (one["status"], one["gatewayRefundId"]) == ("processed", f"sim_rfnd_{uuid.UUID(one['id']).hex}")
    assert (after_all.status_code, after_all.json()["code"]) == (409, "PAYMENT_NOT_REFUNDABLE")
    final = (await client.get(f"{PAYMENTS}/{parts['id']}", headers=ACME)).json()
    assert (final["status"], final["amountRefunded"], final["amountRefunding"]) == ("refunded", 5000, 0)
    assert await store.event_types(parts["id"]) == [
        "payment.created",
        "payment.processing",
        "payment.succeeded",
        "payment.partially_refunded",
        "payment.partially_refunded",
        "payment.refunded",
    ]


async def test_only_captured_payments_are_refundable_and_only_by_their_merchant(client: Client, store: Store) -> None:
    await seed_merchants(client)
    pending = await create_payment(client)
    refused = await _refund(client, pending["id"])
    foreign = await client.post(f"{PAYMENTS}/{pending['id']}/refunds", json={}, headers=keyed(GLOBEX))
    unknown = await client.get(f"/payguard/v1/refunds/{uuid.uuid4()}", headers=ACME)

    assert (refused.status_code, refused.json()["code"]) == (409, "PAYMENT_NOT_REFUNDABLE")
    assert (foreign.status_code, foreign.json()["code"]) == (404, "PAYMENT_NOT_FOUND")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "REFUND_NOT_FOUND")
    assert await store.count("payguard_refund") == 0


@ON_BOTH_DATABASES
async def test_50_concurrent_partial_refunds_never_exceed_the_captured_amount(
    client_for: ClientFactory, store: Store
) -> None:
    async with client_for(pool_size=20, run_worker_in_app=True, clock=SystemClock()) as client:
        await seed_merchants(client)
        payment = await create_payment(client, amount=5000)
        assert await settled(client, payment["id"]) == "succeeded"
        # The worker processes the refunds admitted first while the others are still being admitted.
        responses = await asyncio.gather(*(_refund(client, payment["id"], amount=150) for _ in range(50)))

        async def all_processed() -> bool:
            return await store.count("payguard_refund", "status = 'pending'") == 0

        await eventually(all_processed)
        final = (await client.get(f"{PAYMENTS}/{payment['id']}", headers=ACME)).json()

    codes = [response.status_code for response in responses]
    assert codes.count(201) == 33  # 33 x 150 = 4950 <= 5000 < 34 x 150
    assert codes.count(422) == 17
    assert {response.json()["code"] for response in responses if response.status_code == 422} == {
        "REFUND_EXCEEDS_AVAILABLE"
    }
    assert (final["amountRefunded"], final["amountRefunding"], final["status"]) == (4950, 0, "partially_refunded")
    assert await store.count("payguard_refund", "status = 'processed'") == 33
    assert await store.count("payguard_refund", "status <> 'processed'") == 0
    assert await store.scalar("SELECT sum(amount) FROM payguard_refund WHERE status = 'processed'") == 4950


ORDERS = "CREATE TABLE IF NOT EXISTS host_order (payment_id uuid PRIMARY KEY, created_at timestamptz DEFAULT now())"


def flaky_fulfilment(failures: int, limit: list[int] | None = None) -> tuple[Any, list[int]]:
    """A host hook creating the order, failing (after its insert) the first ``failures`` times.

    ``limit``, when given, holds the number of failures instead, so a test can "fix" the hook midway.
    """
    calls: list[int] = []
    limit = limit if limit is not None else [failures]

    async def create_order(payment: Payment, db: AsyncSession) -> None:
        calls.append(1)
        await db.execute(text("INSERT INTO host_order (payment_id) VALUES (:id)"), {"id": payment.id})
        if len(calls) <= limit[0]:
            msg = f"order service unavailable (call {len(calls)})"
            raise RuntimeError(msg)

    return create_order, calls


async def test_a_fulfilment_hook_failing_twice_then_succeeding_creates_exactly_one_order(
    client_for: ClientFactory, store: Store
) -> None:
    await store.execute(ORDERS)
    await store.execute("TRUNCATE host_order")
    hook, calls = flaky_fulfilment(failures=2)
    settings = {"run_worker_in_app": True, "clock": SystemClock(), "fulfilment_retry_seconds": 1.0}
    gateway = SimulatedGateway()
    async with client_for(test_gateway=gateway, on_payment_succeeded=hook, **settings) as client:
        await seed_merchants(client)
        payment = await create_payment(client)
        final = await settled(client, payment["id"])

    assert final == "succeeded"
    assert len(calls) == 3
    assert await store.count("host_order") == 1
    assert await store.scalar("SELECT fulfilment_attempts FROM payguard_payment") == 2
    assert await store.count("payguard_event", "type = 'payment.succeeded'") == 1
    assert gateway.charges == {payment["id"]: 1}  # the retries asked the gateway again and were not charged again


async def test_a_fulfilment_hook_that_keeps_failing_flags_the_payment_and_never_pays_it_silently(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    await store.execute(ORDERS)
    await store.execute("TRUNCATE host_order")
    limit = [100]
    hook, calls = flaky_fulfilment(failures=100, limit=limit)
    admin = {**ACME, "X-Role": "admin"}
    async with client_for(on_payment_succeeded=hook, fulfilment_max_attempts=3, fulfilment_retry_seconds=1.0) as client:
        await seed_merchants(client)
        payment = await create_payment(client)
        for _ in range(3):
            await work_off(client.app)
            clock.advance(10)
        body = (await client.get(f"{PAYMENTS}/{payment['id']}", headers=ACME)).json()
        forced = await client.post("/payguard/admin/cleanup/force", headers={"X-Role": "admin"})
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()
        other_merchant = (
            await client.get("/payguard/admin/payments/attention", headers={**GLOBEX, "X-Role": "admin"})
        ).json()
        shopper = await client.get("/payguard/admin/payments/attention", headers={**ACME, "X-Role": "shopper"})
        limit[0] = 0  # the host fixed its order service
        retried = await client.post(f"/payguard/admin/payments/{payment['id']}/retry-fulfilment", headers=admin)
        again = await client.post(f"/payguard/admin/payments/{payment['id']}/retry-fulfilment", headers=admin)
        await work_off(client.app)
        final = (await client.get(f"{PAYMENTS}/{payment['id']}", headers=ACME)).json()

    assert [item["id"] for item in flagged] == [payment["id"]]
    assert other_merchant == []
    assert shopper.status_code == 403
    assert (retried.status_code, retried.json()["needsAttention"]) == (200, False)
    assert (again.status_code, again.json()["code"]) == (409, "PAYMENT_NOT_FLAGGED")
    assert (final["status"], final["needsAttention"]) == ("succeeded", False)
    assert await store.count("host_order") == 1
    assert len(calls) == 4
    assert (body["status"], body["needsAttention"]) == ("processing", True)
    assert await store.count("payguard_event", "type = 'payment.attention_required'") == 1
    assert await store.count("payguard_event", "type = 'payment.succeeded'") == 1  # only after the retry
    assert forced.json()["expired"] == 0  # never expired by age either
    assert "order service unavailable" in flagged[0]["attentionReason"]


async def test_a_person_ends_a_flagged_processing_payment_with_its_outcome_and_frees_its_bundle(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    await store.execute(ORDERS)
    await store.execute("TRUNCATE host_order")
    hook, calls = flaky_fulfilment(failures=100)
    admin = {**ACME, "X-Role": "admin"}
    async with client_for(on_payment_succeeded=hook, fulfilment_max_attempts=1) as client:
        await seed_merchants(client)
        by_hand = await create_payment(client, bundleId="bundle-by-hand")
        given_back = await create_payment(client, bundleId="bundle-given-back")
        await work_off(client.app)  # each hook fails once: both flagged, still processing
        resolve = "/payguard/admin/payments/{}/resolve"
        bare = await client.post(resolve.format(by_hand["id"]), headers=admin)
        unknown = await client.post(resolve.format(by_hand["id"]), json={"status": "refunded"}, headers=admin)
        stored_before = await store.rows("SELECT status, needs_attention FROM payguard_payment ORDER BY created_at")
        fulfilled = await client.post(resolve.format(by_hand["id"]), json={"status": "succeeded"}, headers=admin)
        # Marked failed (given back at the gateway, say): the gateway is asked about it once more.
        failed = await client.post(resolve.format(given_back["id"]), json={"status": "failed"}, headers=admin)
        final_again = await client.post(resolve.format(by_hand["id"]), json={"status": "failed"}, headers=admin)
        await work_off(client.app)
        clock.advance(3600)
        await work_off(client.app)
        # Nothing holds the bundles any more: the customer can pay for them again.
        again = await client.post(PAYMENTS, json=payment_body(bundleId="bundle-by-hand"), headers=keyed())

    assert (bare.status_code, bare.json()["code"]) == (422, "RESOLUTION_STATUS_MISMATCH")
    assert bare.json()["paymentStatus"] == "processing"
    assert (unknown.status_code, unknown.json()["code"]) == (422, "VALIDATION_FAILED")
    assert [(row["status"], row["needs_attention"]) for row in stored_before] == [("processing", True)] * 2
    assert (fulfilled.status_code, fulfilled.json()["status"], fulfilled.json()["needsAttention"]) == (
        200,
        "succeeded",
        False,
    )
    assert (failed.json()["status"], failed.json()["failureCode"]) == ("failed", "resolved_by_hand")
    assert (final_again.status_code, final_again.json()["code"]) == (409, "PAYMENT_NOT_FLAGGED")
    assert again.status_code == 201, again.text
    assert len(calls) == 2  # the hook never ran for the payment fulfilled by hand
    assert await store.event_types(by_hand["id"]) == [
        "payment.created",
        "payment.processing",
        "payment.attention_required",
        "payment.attention_resolved",
        "payment.succeeded",
    ]
    # The simulated gateway did capture it: the check after the resolution flags it for the person again.
    assert await store.event_types(given_back["id"]) == [
        "payment.created",
        "payment.processing",
        "payment.attention_required",
        "payment.attention_resolved",
        "payment.failed",
        "payment.attention_required",
    ]
    due = await store.count("payguard_payment", "process_at IS NOT NULL AND id <> :id", id=again.json()["id"])
    assert due == 0


async def _flagged_checkout(client: Client) -> tuple[dict[str, Any], Any]:
    """A checkout completed by the customer whose fulfilment failed (``fulfilment_max_attempts=1``): flagged.

    Returns the session and a coroutine function resolving its payment with a status.
    """
    session = await create_session(client)
    await client.post(f"/payguard/sessions/{session['id']}/complete", json={"gatewayPaymentId": "pay_1"}, headers=ALICE)
    await work_off(client.app)

    async def resolve(status: str) -> Any:
        url = f"/payguard/admin/payments/{session['payment']['id']}/resolve"
        return await client.post(url, json={"status": status}, headers={"X-Role": "admin"})

    return session, resolve


async def test_a_flagged_checkout_payment_resolved_as_succeeded_completes_its_session(
    client_for: ClientFactory, store: Store
) -> None:
    await store.execute(ORDERS)
    await store.execute("TRUNCATE host_order")
    hook, calls = flaky_fulfilment(failures=100)
    async with client_for(on_payment_succeeded=hook, fulfilment_max_attempts=1) as client:
        session, resolve = await _flagged_checkout(client)
        flagged = (await client.get(f"/payguard/sessions/{session['id']}", headers=ALICE)).json()
        resolved = await resolve("succeeded")
        final = (await client.get(f"/payguard/sessions/{session['id']}", headers=ALICE)).json()

    assert flagged["payment"]["status"] == "processing"
    assert resolved.status_code == 200, resolved.text
    assert (final["status"], final["payment"]["status"]) == ("completed", "succeeded")
    assert len(calls) == 1
    assert await store.count("payguard_session_event", "type = 'completed'") == 1


async def test_a_captured_checkout_payment_resolved_as_failed_ends_and_is_flagged_again_by_the_gateway_check(
    client_for: ClientFactory, store: Store
) -> None:
    await store.execute(ORDERS)
    await store.execute("TRUNCATE host_order")
    hook, calls = flaky_fulfilment(failures=100)
    admin = {"X-Role": "admin"}
    async with client_for(on_payment_succeeded=hook, fulfilment_max_attempts=1) as client:
        session, resolve = await _flagged_checkout(client)
        resolved = await resolve("failed")
        replayed = await client.post(
            f"/payguard/sessions/{session['id']}/complete", json={"gatewayPaymentId": "pay_1"}, headers=ALICE
        )
        await work_off(client.app)  # the gateway check after the resolution
        after = (await client.get(f"/payguard/sessions/{session['id']}", headers=ALICE)).json()
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()

    assert (resolved.status_code, resolved.json()["status"]) == (200, "failed")
    assert (replayed.status_code, replayed.json()["code"]) == (409, "SESSION_FAILED")
    assert (after["status"], after["payment"]["status"]) == ("failed", "failed")
    assert [(item["id"], item["status"]) for item in flagged] == [(session["payment"]["id"], "failed")]
    assert "captured" in flagged[0]["attentionReason"]
    assert len(calls) == 1  # no order for it: a person decides what happens to the money


async def test_the_reconciler_hands_out_payments_whose_job_never_reached_the_queue(
    client_for: ClientFactory, store: Store
) -> None:
    # Its own cron never ticks here: the test runs the reconciler itself, once.
    async with client_for(run_worker_in_app=True, clock=SystemClock(), reconcile_cron="0 0 1 1 *") as client:
        await seed_merchants(client)
        payguard = payguard_of(client.app)
        # The host's own code, with no dispatcher: the payment is due, but no job was enqueued for it.
        async with payguard.db_session() as db:
            merchant = await MerchantService(db).get_by_key("key_acme")
            assert merchant is not None
            service = MerchantPaymentService(db, payguard.config, merchant.id)
            payment = await service.create(PaymentCreate(**_snake(payment_body())))
            payment_id = str(payment.id)
            await db.commit()
        await asyncio.sleep(0.3)
        assert await status_of(client, payment_id) == "pending"

        handed_out = await payguard.queue.apply("reconcile", timeout=20)
        final = await settled(client, payment_id)

    assert handed_out == {"payments": 1, "refunds": 0}
    assert final == "succeeded"


async def test_a_payment_created_while_redis_is_down_is_kept_and_processed_once_it_is_back(
    client_for: ClientFactory, store: Store
) -> None:
    async with client_for(queue_url="redis://127.0.0.1:9/0") as down:  # nothing listens there
        await seed_merchants(down)
        response = await down.post(PAYMENTS, json=payment_body(), headers=keyed())
    stored = await store.rows(
        "SELECT status, process_at FROM payguard_payment WHERE id = :id", id=response.json()["id"]
    )

    async with client_for(run_worker_in_app=True, clock=SystemClock(), reconcile_cron="0 0 1 1 *") as client:
        handed_out = await payguard_of(client.app).queue.apply("reconcile", timeout=20)
        final = await settled(client, response.json()["id"])

    # The payment is committed before its job is enqueued: the failed enqueue is logged, not answered.
    assert response.status_code == 201, response.text
    assert [row["status"] for row in stored] == ["pending"]
    assert stored[0]["process_at"] is not None
    assert handed_out == {"payments": 1, "refunds": 0}
    assert final == "succeeded"


async def test_a_redis_that_stopped_answering_holds_neither_the_response_nor_the_shutdown(
    client_for: ClientFactory, store: Store
) -> None:
    async def create_and_stop(port: int) -> Any:
        async with client_for(queue_url=f"redis://127.0.0.1:{port}/0") as client:
            await seed_merchants(client)
            return await client.post(PAYMENTS, json=payment_body(), headers=keyed())

    async with silent_server() as port:  # a hang fails the test instead of holding the suite
        response = await asyncio.wait_for(create_and_stop(port), timeout=60)

    assert response.status_code == 201, response.text
    stored = await store.rows("SELECT status, process_at FROM payguard_payment")
    assert [row["status"] for row in stored] == ["pending"]
    assert stored[0]["process_at"] is not None  # the reconciler will hand it out once Redis answers


async def test_payments_whose_queued_jobs_a_redis_restart_lost_are_all_processed(
    client_for: ClientFactory, store: Store
) -> None:
    """The due row is the promise, the SAQ job only a fast path: a lost job delays a payment, never loses it."""
    async with client_for() as client:  # no worker yet: the jobs wait in Redis
        await seed_merchants(client)
        created = [await create_payment(client, bundleId=f"bundle-lost-{n}") for n in range(5)]
        queue = payguard_of(client.app).queue
        queued = await queue.count("queued")
        await queue.redis.flushdb()  # Redis restarted without its data: every queued job is gone
        lost = await queue.count("queued")
    every_second = "* * * * * */1"  # croniter's sixth field
    async with client_for(run_worker_in_app=True, clock=SystemClock(), reconcile_cron=every_second) as client:
        finals = [await settled(client, payment["id"]) for payment in created]

    assert (queued, lost) == (5, 0)
    assert finals == ["succeeded"] * 5
    assert await store.count("payguard_event", "type = 'payment.succeeded'") == 5


def _snake(body: dict[str, Any]) -> dict[str, Any]:
    names = {"orderId": "order_id", "bundleId": "bundle_id", "customerId": "customer_id"}
    return {names.get(key, key): value for key, value in body.items()}


async def test_times_without_an_offset_and_nul_characters_are_refused_not_crashed(client: Client) -> None:
    await seed_merchants(client)
    naive = await client.get(PAYMENTS, params={"createdFrom": "2026-03-01T12:00:00"}, headers=ACME)
    nul = await client.get(PAYMENTS, params={"customerId": "a\x00b"}, headers=ACME)
    forged = base64.urlsafe_b64encode(f"2026-03-01T12:00:00|{uuid.uuid4()}".encode()).decode()
    naive_cursor = await client.get(PAYMENTS, params={"cursor": forged}, headers=ACME)

    assert (naive.status_code, naive.json()["code"]) == (422, "VALIDATION_FAILED")
    assert (nul.status_code, nul.json()["code"]) == (422, "VALIDATION_FAILED")
    assert (naive_cursor.status_code, naive_cursor.json()["code"]) == (422, "INVALID_CURSOR")


async def test_a_retried_create_with_the_same_key_is_one_payment_charged_once(
    client_for: ClientFactory, store: Store
) -> None:
    gateway = SimulatedGateway()
    async with client_for(run_worker_in_app=True, clock=SystemClock(), test_gateway=gateway) as client:
        await seed_merchants(client)
        headers, body = keyed(), payment_body()
        first, second = await asyncio.gather(
            client.post(PAYMENTS, json=body, headers=headers), client.post(PAYMENTS, json=body, headers=headers)
        )
        third = await client.post(PAYMENTS, json=body, headers=headers)
        winner = first if first.status_code == 201 else second
        final = await settled(client, winner.json()["id"])

    assert sorted([first.status_code, second.status_code]) in ([201, 201], [201, 409])
    assert (third.status_code, third.content) == (201, winner.content)
    assert third.headers["idempotent-replayed"] == "true"
    assert final == "succeeded"
    assert await store.count("payguard_payment") == 1
    assert gateway.charges == {winner.json()["id"]: 1}
