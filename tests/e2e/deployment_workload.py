"""A mixed workload for the reference deployment, spread over its API processes, and what it must leave behind.

Shoppers check out (some interrupted and resumed first) and complete their sessions; the merchant's server makes
payments (one of them sent to both API processes at once under one ``Idempotency-Key``, as a retry through a load
balancer would) and refunds them, in part or in full. Each request goes to another process than the one before.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from demo_app.catalogue import CATALOGUE
from demo_app.settings import DEMO_MERCHANT_KEY, DEMO_MERCHANT_SECRET
from tests.support import Store, eventually

__all__ = ("Workload", "settled")

MERCHANT = {"X-Api-Key": DEMO_MERCHANT_KEY, "X-Api-Secret": DEMO_MERCHANT_SECRET}
PRODUCT = CATALOGUE["pro-monthly"]
SHOPPERS = 6
PAYMENTS = 8
PARTIAL = 1000


class Workload:
    """The requests, and the ids they created."""

    def __init__(self, origins: list[str]) -> None:
        self.clients = [httpx.AsyncClient(base_url=origin, timeout=30) for origin in origins]
        self.run_id = uuid.uuid4().hex[:8]
        self.sessions: list[str] = []
        self.payments: list[str] = []
        self.refunded: dict[str, int] = {}
        self.keyed_outcomes: list[int] = []

    def client(self, turn: int) -> httpx.AsyncClient:
        """The API process for this turn: turns alternate between them."""
        return self.clients[turn % len(self.clients)]

    async def post(self, turn: int, path: str, body: Any = None, **headers: str) -> dict[str, Any]:
        response = await self.client(turn).post(path, json=body, headers=headers)
        assert response.status_code in {200, 201, 202}, (path, response.status_code, response.text)
        return dict(response.json())

    async def run(self) -> None:
        """Every request of the workload; the workers process what they start meanwhile."""
        try:
            await asyncio.gather(*(self._shopper(i) for i in range(SHOPPERS)), self._merchant())
        finally:
            await asyncio.gather(*(client.aclose() for client in self.clients))

    async def _shopper(self, i: int) -> None:
        token = (await self.post(i, "/auth/login", {"username": f"shopper-{i}-{self.run_id}"}))["accessToken"]
        auth = {"Authorization": f"Bearer {token}"}
        session = await self.post(i + 1, "/shop/checkout", {"productId": PRODUCT.id}, **auth)
        sid = session["id"]
        if i % 2:  # the connection dropped: the checkout is resumed on the other process
            await self.post(i, f"/payguard/sessions/{sid}/interrupt", {"kind": "network"}, **auth)
            await asyncio.sleep(0.3)
            assert (await self.post(i + 1, f"/payguard/sessions/{sid}/resume", **auth))["attempt"] == 2
        completed = await self.post(i, f"/payguard/sessions/{sid}/complete", {"gatewayPaymentId": f"pay_{sid}"}, **auth)
        self.sessions.append(sid)
        self.payments.append(completed["payment"]["id"])

    def _payment(self, i: int) -> dict[str, Any]:
        return {
            "orderId": f"order-{i}-{self.run_id}",
            "bundleId": PRODUCT.id,
            "customerId": f"customer-{i}-{self.run_id}",
            "amount": PRODUCT.amount,
            "currency": PRODUCT.currency,
            "method": "card",
        }

    async def _merchant(self) -> None:
        created = await asyncio.gather(
            *(
                self.post(i, "/payguard/v1/payments", self._payment(i), **MERCHANT, **{"Idempotency-Key": f"pay-{i}"})
                for i in range(PAYMENTS - 1)
            ),
            self._sent_twice(),
        )
        self.payments += [payment["id"] for payment in created]
        await asyncio.gather(*(self._refund(i, payment["id"]) for i, payment in enumerate(created[:4])))

    async def _sent_twice(self) -> dict[str, Any]:
        """One payment, sent to both processes at once under one key: the same payment, or 409 while it is made."""
        keyed = {**MERCHANT, "Idempotency-Key": f"twice-{self.run_id}"}
        body = self._payment(PAYMENTS - 1)
        responses = await asyncio.gather(
            *(client.post("/payguard/v1/payments", json=body, headers=keyed) for client in self.clients)
        )
        self.keyed_outcomes = sorted(response.status_code for response in responses)
        return dict(next(response for response in responses if response.status_code == 201).json())

    async def _refund(self, i: int, payment_id: str) -> None:
        """A partial refund once the payment succeeded; every other payment is then refunded in full."""
        await eventually(lambda: self._succeeded(i, payment_id), limit=30)
        path = f"/payguard/v1/payments/{payment_id}/refunds"
        await self.post(i, path, {"amount": PARTIAL}, **MERCHANT, **{"Idempotency-Key": f"refund-{payment_id}-1"})
        self.refunded[payment_id] = PARTIAL
        if i % 2:
            rest = PRODUCT.amount - PARTIAL
            await self.post(i + 1, path, {"amount": rest}, **MERCHANT, **{"Idempotency-Key": f"refund-{payment_id}-2"})
            self.refunded[payment_id] = PRODUCT.amount

    async def _succeeded(self, i: int, payment_id: str) -> bool:
        response = await self.client(i).get(f"/payguard/v1/payments/{payment_id}", headers=MERCHANT)
        assert response.status_code == 200, response.text
        return bool(response.json()["status"] == "succeeded")

    async def check(self, store: Store) -> None:
        """Every payment processed exactly once: one claim, one success, one order; every refund once."""
        payments = await store.rows(
            "SELECT id::text, status, process_attempts, needs_attention, amount_refunded FROM payguard_payment"
        )
        succeeded = await _per_subject(store, "payment.succeeded")
        orders = Counter(row["p"] for row in await store.rows("SELECT payment_id::text AS p FROM demo_order"))
        refunds = await store.rows("SELECT id::text, status, process_attempts FROM payguard_refund")
        processed = await _per_subject(store, "refund.processed")

        assert self.keyed_outcomes in ([201, 201], [201, 409]), self.keyed_outcomes
        assert sorted(row["id"] for row in payments) == sorted(self.payments)
        assert len(self.payments) == SHOPPERS + PAYMENTS
        for row in payments:
            refunded = self.refunded.get(row["id"], 0)
            final = {0: "succeeded", PRODUCT.amount: "refunded"}.get(refunded, "partially_refunded")
            assert (row["status"], row["amount_refunded"], row["needs_attention"]) == (final, refunded, False), row
            assert row["process_attempts"] == 1, row  # claimed once, so charged once
        assert succeeded == dict.fromkeys(self.payments, 1)
        assert orders == dict.fromkeys(self.payments, 1)
        assert len(refunds) == sum(1 if amount == PARTIAL else 2 for amount in self.refunded.values())
        assert {(row["status"], row["process_attempts"]) for row in refunds} == {("processed", 1)}
        assert processed == dict.fromkeys((row["id"] for row in refunds), 1)


async def _per_subject(store: Store, event_type: str) -> dict[str, int]:
    rows = await store.rows(
        "SELECT subject_id::text AS s, count(*) AS n FROM payguard_event WHERE type = :type GROUP BY subject_id",
        type=event_type,
    )
    return {row["s"]: row["n"] for row in rows}


async def settled(store: Store, workload: Workload, logs: list[Path]) -> None:
    """Wait until the workers have processed every payment and refund of the workload."""

    async def done() -> bool:
        open_payments = await store.count("payguard_payment", "status IN ('pending', 'processing')")
        pending_refunds = await store.count("payguard_refund", "status = 'pending'")
        return open_payments == pending_refunds == 0 and len(workload.payments) == SHOPPERS + PAYMENTS

    try:
        await eventually(done, limit=30, interval=0.2)
    except AssertionError:
        raise AssertionError("\n".join(log.read_text() for log in logs)) from None
