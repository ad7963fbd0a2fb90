"""The pending-payment guard: no customer is ever blocked by a stale payment, nor without a way out."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from litestar_payguard import Price, Principal
from litestar_payguard.models import Payment
from litestar_payguard.services.payments import PaymentService
from litestar_payguard.testing import ManualClock
from tests.hostapp import set_price
from tests.integration.conftest import (
    ALICE,
    BOB,
    ON_BOTH_DATABASES,
    Client,
    ClientFactory,
    Store,
    create_session,
    payguard_of,
)

BASE = "/payguard"


async def test_a_stale_pending_payment_is_expired_and_the_new_one_proceeds(
    client: Client, store: Store, clock: ManualClock
) -> None:
    old = await create_session(client, bundleId="gold")
    clock.advance(31 * 60)

    new = await create_session(client, bundleId="gold")

    assert new["payment"]["status"] == "pending"
    statuses = {
        row["id"]: row for row in await store.rows("SELECT id::text, status, failure_code FROM payguard_payment")
    }
    assert statuses[old["payment"]["id"]]["status"] == "expired"
    assert statuses[old["payment"]["id"]]["failure_code"] == "stale"
    assert await store.event_types(old["payment"]["id"]) == ["payment.created", "payment.expired"]
    assert await store.count("payguard_payment", "status IN ('pending', 'processing')") == 1


async def test_a_fresh_payment_for_the_same_bundle_answers_409_with_ways_out(
    client: Client, store: Store, clock: ManualClock
) -> None:
    set_price(client.app, ("gold", "Gold monthly"), Price(2900, "USD"))
    set_price(client.app, ("gold", "Gold yearly"), Price(29000, "USD"))
    existing = await create_session(client, bundleId="gold", planName="Gold monthly", amount=2900)
    clock.advance(5 * 60)

    same_plan = await client.post(
        f"{BASE}/sessions",
        json={"bundleId": "gold", "amount": 2900, "currency": "USD", "planName": "Gold monthly"},
        headers=ALICE,
    )
    other_plan = await client.post(
        f"{BASE}/sessions",
        json={"bundleId": "gold", "amount": 29000, "currency": "USD", "planName": "Gold yearly"},
        headers=ALICE,
    )

    assert same_plan.status_code == 409
    problem = same_plan.json()
    assert problem["code"] == "PENDING_SAME_BUNDLE"
    assert problem["recommendation"] == "complete_existing"
    (conflict,) = problem["conflicts"]
    assert conflict["type"] == "same_bundle"
    assert (conflict["id"], conflict["amount"], conflict["currency"], conflict["planName"]) == (
        existing["payment"]["id"],
        2900,
        "USD",
        "Gold monthly",
    )
    assert (conflict["ageMinutes"], conflict["timeRemainingMinutes"]) == (5, 25)
    assert conflict["actions"] == {
        "complete": {"method": "GET", "url": f"{BASE}/sessions/{existing['id']}", "label": "Complete existing payment"},
        "cancel": {
            "method": "POST",
            "url": f"{BASE}/payments/{existing['payment']['id']}/cancel",
            "label": "Cancel & start new",
        },
    }
    assert other_plan.json()["recommendation"] == "cancel_and_restart"
    assert await store.count("payguard_payment") == 1
    assert await store.count("payguard_session") == 1


async def test_the_ways_out_work(client: Client, store: Store) -> None:
    existing = await create_session(client, bundleId="gold")
    conflict = (await client.post(f"{BASE}/sessions", json={"bundleId": "gold"}, headers=ALICE)).json()["conflicts"][0]

    continued = await client.get(conflict["actions"]["complete"]["url"], headers=ALICE)
    cancelled = await client.post(conflict["actions"]["cancel"]["url"], headers=ALICE)
    restarted = await client.post(f"{BASE}/sessions", json={"bundleId": "gold"}, headers=ALICE)

    assert continued.json()["id"] == existing["id"]
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert await store.scalar("SELECT status FROM payguard_session WHERE id = :id", id=existing["id"]) == "cancelled"
    assert restarted.status_code == 201


async def test_other_bundles_never_block_and_come_back_as_warnings(client: Client, store: Store) -> None:
    gold = await create_session(client, bundleId="gold")

    silver = await client.post(f"{BASE}/sessions", json={"bundleId": "silver"}, headers=ALICE)

    assert silver.status_code == 201
    warnings = silver.json()["warnings"]
    assert [(w["id"], w["bundleId"], w["stale"]) for w in warnings] == [(gold["payment"]["id"], "gold", False)]
    assert warnings[0]["actions"]["cancel"]["url"] == f"{BASE}/payments/{gold['payment']['id']}/cancel"
    # Another customer's open payment for the same bundle blocks nothing either.
    bob = await client.post(f"{BASE}/sessions", json={"bundleId": "gold"}, headers=BOB)
    assert (bob.status_code, bob.json()["warnings"]) == (201, [])


async def test_a_payment_with_the_gateway_is_never_expired_by_age(
    client: Client, store: Store, clock: ManualClock
) -> None:
    existing = await create_session(client, bundleId="gold")
    await store.execute(
        "UPDATE payguard_payment SET status = 'processing' WHERE id = :id", id=existing["payment"]["id"]
    )
    clock.advance(3 * 3600)

    again = await client.post(f"{BASE}/sessions", json={"bundleId": "gold"}, headers=ALICE)
    cleanup = await client.post(f"{BASE}/pending/cleanup-stale", headers=ALICE)

    assert again.json()["code"] == "PENDING_SAME_BUNDLE"
    assert again.json()["conflicts"][0]["status"] == "processing"
    assert cleanup.json()["expired"] == 0
    assert await store.scalar("SELECT status FROM payguard_payment") == "processing"


async def test_customers_list_their_pending_payments(client: Client, store: Store, clock: ManualClock) -> None:
    old = await create_session(client, bundleId="gold")
    clock.advance(40 * 60)
    fresh = await create_session(client, bundleId="silver")
    await create_session(client, headers=BOB, bundleId="gold")
    clock.advance(60)

    listing = (await client.get(f"{BASE}/pending", headers=ALICE)).json()

    assert listing["summary"] == {"total": 2, "active": 1, "stale": 1}
    rows = {item["id"]: item for item in listing["pendingPayments"]}
    assert set(rows) == {old["payment"]["id"], fresh["payment"]["id"]}
    assert (rows[old["payment"]["id"]]["stale"], rows[old["payment"]["id"]]["ageMinutes"]) == (True, 41)
    assert rows[old["payment"]["id"]]["timeRemainingMinutes"] == 0
    assert (rows[fresh["payment"]["id"]]["ageMinutes"], rows[fresh["payment"]["id"]]["timeRemainingMinutes"]) == (1, 29)


async def test_can_proceed_answers_without_creating_anything(client: Client, store: Store, clock: ManualClock) -> None:
    await create_session(client, bundleId="gold", planName="Gold monthly")
    await create_session(client, bundleId="silver")
    before = await store.count("payguard_payment")

    blocked = (
        await client.post(f"{BASE}/can-proceed", json={"bundleId": "gold", "planName": "Gold yearly"}, headers=ALICE)
    ).json()
    free = (await client.post(f"{BASE}/can-proceed", json={"bundleId": "bronze"}, headers=ALICE)).json()
    clock.advance(31 * 60)
    after_stale = (await client.post(f"{BASE}/can-proceed", json={"bundleId": "gold"}, headers=ALICE)).json()

    assert (blocked["canProceed"], blocked["recommendation"]) == (False, "cancel_and_restart")
    assert [c["bundleId"] for c in blocked["conflicts"]] == ["gold"]
    assert [w["bundleId"] for w in blocked["warnings"]] == ["silver"]
    assert (free["canProceed"], free["conflicts"], free["recommendation"]) == (True, [], None)
    assert after_stale["canProceed"] is True
    assert "stale" in after_stale["message"]
    assert await store.count("payguard_payment") == before
    assert await store.count("payguard_payment", "status = 'expired'") == 0


async def test_customers_clean_up_only_their_own_stale_payments(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await create_session(client, bundleId="gold")
    await create_session(client, bundleId="silver")
    await create_session(client, headers=BOB, bundleId="gold")
    clock.advance(20 * 60)
    fresh = await create_session(client, bundleId="bronze")
    clock.advance(11 * 60)

    result = await client.post(f"{BASE}/pending/cleanup-stale", headers=ALICE)

    assert result.json()["expired"] == 2
    assert await store.count("payguard_payment", "customer_id = 'alice' AND status = 'expired'") == 2
    assert (
        await store.scalar("SELECT status FROM payguard_payment WHERE id = :id", id=fresh["payment"]["id"]) == "pending"
    )
    assert await store.count("payguard_payment", "customer_id = 'bob' AND status = 'pending'") == 1


async def test_cancelling_a_payment_checks_ownership_and_status(client: Client, store: Store) -> None:
    mine = await create_session(client, bundleId="gold")
    theirs = await create_session(client, headers=BOB, bundleId="gold")
    completed = await create_session(client, bundleId="silver")
    await client.post(f"{BASE}/sessions/{completed['id']}/complete", json={"gatewayPaymentId": "p"}, headers=ALICE)

    other = await client.post(f"{BASE}/payments/{theirs['payment']['id']}/cancel", headers=ALICE)
    unknown = await client.post(f"{BASE}/payments/not-an-id/cancel", headers=ALICE)
    paid = await client.post(f"{BASE}/payments/{completed['payment']['id']}/cancel", headers=ALICE)
    own = await client.post(f"{BASE}/payments/{mine['payment']['id']}/cancel", headers=ALICE)

    assert (other.status_code, other.json()["code"]) == (404, "PAYMENT_NOT_FOUND")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "PAYMENT_NOT_FOUND")
    assert (paid.status_code, paid.json()["code"]) == (409, "PAYMENT_NOT_CANCELLABLE")
    assert (own.status_code, own.json()["status"]) == (200, "cancelled")
    assert (
        await store.scalar("SELECT status FROM payguard_payment WHERE id = :id", id=theirs["payment"]["id"])
        == "pending"
    )


@ON_BOTH_DATABASES
async def test_100_concurrent_creates_for_one_bundle_leave_exactly_one_open_payment(
    client_for: ClientFactory, store: Store
) -> None:
    async with client_for(pool_size=20) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{BASE}/sessions",
                    json={"bundleId": "gold"},
                    headers={**ALICE, "Idempotency-Key": f"create-{index}"},
                )
                for index in range(100)
            )
        )

    outcomes = Counter(r.status_code if r.status_code == 201 else r.json()["code"] for r in responses)
    assert outcomes == {201: 1, "PENDING_SAME_BUNDLE": 99}
    assert all(r.status_code < 500 for r in responses)
    assert await store.count("payguard_payment", "status IN ('pending', 'processing')") == 1
    assert await store.count("payguard_session") == 1


async def test_the_database_itself_refuses_a_second_open_payment(client: Client, store: Store) -> None:
    existing = await create_session(client, bundleId="gold")
    duplicate = """
        INSERT INTO payguard_payment (id, merchant_id, customer_id, bundle_id, amount, currency, status, mode,
                                      gateway, amount_refunded, metadata, created_at, updated_at)
        SELECT gen_random_uuid(), merchant_id, customer_id, bundle_id, 1, 'USD', 'processing', 'test', 'x', 0, '{}',
               now(), now()
        FROM payguard_payment WHERE id = :id
    """
    try:
        await store.execute(duplicate, id=existing["payment"]["id"])
    except Exception as exc:
        assert "uq_payguard_payment_open_bundle" in str(exc)
    else:
        raise AssertionError("a second open payment for the bundle was accepted")


def _twin(payment: Payment, **changes: Any) -> Payment:
    """A copy of the payment that no guard checked (what a concurrent request's insert amounts to)."""
    columns = {column.key: getattr(payment, column.key) for column in inspect(Payment).column_attrs}
    return Payment(**{**columns, "id": uuid.uuid4(), **changes})


@ON_BOTH_DATABASES
async def test_an_insert_the_open_bundle_index_refuses_becomes_the_409_on_either_database(
    client: Client, store: Store
) -> None:
    existing = await create_session(client, bundleId="gold")
    payguard = payguard_of(client.app)
    owner = Principal(merchant_id=await payguard.principals.default_merchant_id(), customer_id="alice")

    async with payguard.db_session() as db:
        payments = PaymentService(db, payguard.config)
        stored = await db.get_one(Payment, uuid.UUID(existing["payment"]["id"]))
        db.add(_twin(stored))
        with pytest.raises(IntegrityError) as refused:
            await db.flush()
        error = await payments.conflict_from(refused.value, owner, "gold", None, payguard.config.clock.now())
        # Any other refusal is not a conflict: an amount the check constraint refuses, on a free bundle.
        stored = await db.get_one(Payment, uuid.UUID(existing["payment"]["id"]))
        db.add(_twin(stored, bundle_id="silver", amount=0))
        with pytest.raises(IntegrityError) as other:
            await db.flush()
        with pytest.raises(IntegrityError):
            await payments.conflict_from(other.value, owner, "silver", None, payguard.config.clock.now())

    assert (error.status_code, error.code) == (409, "PENDING_SAME_BUNDLE")
    assert [conflict["id"] for conflict in error.extra["conflicts"]] == [existing["payment"]["id"]]
    assert await store.count("payguard_payment") == 1
