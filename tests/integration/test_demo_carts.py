"""The demo shop's carts on real Postgres and Redis with its in-app worker: ownership, concurrent adds, checkout,
and the fulfilment hook creating the order exactly once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from demo_app import create_app
from demo_app.settings import DEMO_MERCHANT_KEY, DEMO_MERCHANT_SECRET, DemoSettings
from litestar_payguard.testing.servers import Server
from tests.support import Client, Store, eventually, serve


async def _login(client: Client, name: str) -> dict[str, str]:
    token = (await client.post("/auth/login", json={"username": name})).json()["accessToken"]
    return {"Authorization": f"Bearer {token}"}


def _shop(data_dir: Path, database_url: str, redis_server: Server, token_secret: str) -> DemoSettings:
    """The demo on the test servers, its simulated gateway answering at once."""
    return DemoSettings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_server.url,
        simulated_delay_seconds=0.0,
        token_secret=token_secret,
    )


async def test_carts_are_owned_safe_under_concurrent_adds_and_paid_carts_become_one_order(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    settings = _shop(tmp_path, database_url, redis_server, "carts")
    async with serve(create_app(settings)) as client:
        alice = await _login(client, f"alice-{uuid.uuid4().hex[:6]}")
        bob = await _login(client, f"bob-{uuid.uuid4().hex[:6]}")
        first_uses = await asyncio.gather(*(client.get("/shop/cart", headers=alice) for _ in range(5)))
        adds = await asyncio.gather(
            *(client.post("/shop/cart/items", json={"productId": "pro-monthly"}, headers=alice) for _ in range(10))
        )
        await client.post("/shop/cart/items", json={"productId": "starter-monthly", "quantity": 2}, headers=alice)
        cart = (await client.get("/shop/cart", headers=alice)).json()
        foreign = await client.get(f"/shop/carts/{cart['id']}", headers=bob)
        own = await client.get(f"/shop/carts/{cart['id']}", headers=alice)
        anonymous = await client.get("/shop/cart")
        empty_checkout = await client.post("/shop/cart/checkout", headers=bob)

        session = await client.post("/shop/cart/checkout", headers=alice)
        again = await client.post("/shop/cart/checkout", headers=alice)
        sid = session.json()["id"]
        await client.post(f"/payguard/sessions/{sid}/complete", json={"gatewayPaymentId": "pay_cart"}, headers=alice)

        async def completed() -> Any:
            body = (await client.get(f"/payguard/sessions/{sid}", headers=alice)).json()
            return body if body["status"] == "completed" else None

        final = await eventually(completed)
        orders = (await client.get("/shop/orders", headers=alice)).json()
        after = (await client.get("/shop/cart", headers=alice)).json()

    assert {response.json()["id"] for response in first_uses} == {cart["id"]}  # one cart, however many first uses
    assert {response.status_code for response in adds} == {200}
    assert [(line["productId"], line["quantity"]) for line in cart["items"]] == [
        ("pro-monthly", 10),
        ("starter-monthly", 2),
    ]
    assert cart["totals"] == {"USD": 10 * 2900 + 2 * 900}
    assert (foreign.status_code, foreign.json()["code"]) == (404, "CART_NOT_FOUND")
    assert own.json()["id"] == cart["id"]
    assert anonymous.status_code == 401
    assert (empty_checkout.status_code, empty_checkout.json()["code"]) == (422, "CART_EMPTY")
    assert (session.status_code, session.json()["payment"]["amount"]) == (201, 30800)
    assert (again.status_code, again.json()["code"]) == (409, "PENDING_SAME_BUNDLE")
    assert final["payment"]["status"] == "succeeded"
    assert len(orders) == 1
    assert (orders[0]["amount"], orders[0]["paymentId"]) == (30800, final["payment"]["id"])
    assert orders[0]["items"] == [
        {"productId": "pro-monthly", "quantity": 10},
        {"productId": "starter-monthly", "quantity": 2},
    ]
    assert after["items"] == []
    assert await store.count("payguard_event", "type = 'payment.succeeded'") == 1


async def test_a_merchant_api_payment_with_a_long_customer_id_becomes_its_order(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    settings = _shop(tmp_path, database_url, redis_server, "merchant")
    customer = f"crm-{uuid.uuid4().hex}-" + "x" * 200  # the merchant API takes customer ids of 255 characters
    merchant = {"X-Api-Key": DEMO_MERCHANT_KEY, "X-Api-Secret": DEMO_MERCHANT_SECRET}
    body = {
        "orderId": "crm-order-1",
        "bundleId": "pro-monthly",
        "customerId": customer,
        "amount": 2900,
        "currency": "USD",
        "method": "card",
    }
    async with serve(create_app(settings)) as client:
        created = await client.post(
            "/payguard/v1/payments", json=body, headers={**merchant, "Idempotency-Key": uuid.uuid4().hex}
        )

        async def settled() -> Any:
            payment = (await client.get(f"/payguard/v1/payments/{created.json()['id']}", headers=merchant)).json()
            return payment if payment["status"] in {"succeeded", "failed"} or payment["needsAttention"] else None

        final = await eventually(settled)

    assert created.status_code == 201, created.text
    assert (final["status"], final["needsAttention"]) == ("succeeded", False)
    orders = await store.rows("SELECT username, amount FROM demo_order WHERE payment_id = :id", id=final["id"])
    assert [(row["username"], row["amount"]) for row in orders] == [(customer, 2900)]
