"""The demo shop's carts on real Postgres and Redis with its in-app worker: ownership, concurrent adds, checkout,
and the fulfilment hook creating the order exactly once."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from demo_app import create_app
from demo_app.catalogue import CATALOGUE
from demo_app.fulfilment import OrderMismatchError, fulfil_order
from demo_app.settings import DEMO_MERCHANT_KEY, DEMO_MERCHANT_SECRET, DemoSettings
from litestar_payguard.models import Payment
from litestar_payguard.testing.razorpay import FakeRazorpay
from litestar_payguard.testing.servers import Server
from tests.support import Client, Store, eventually, payguard_of, serve


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


ONE_CENT = {"bundleId": "pro-yearly", "amount": 1, "currency": "USD"}


def _items(*lines: tuple[str, int]) -> str:
    return json.dumps([{"productId": product, "quantity": quantity} for product, quantity in lines])


async def _pay(client: Client, headers: dict[str, str], session_id: str, reference: str) -> dict[str, Any]:
    """Complete a session with the simulated gateway and wait for the worker to settle it."""
    await client.post(
        f"/payguard/sessions/{session_id}/complete", json={"gatewayPaymentId": reference}, headers=headers
    )

    async def settled() -> Any:
        body = (await client.get(f"/payguard/sessions/{session_id}", headers=headers)).json()
        return body if body["status"] != "active" else None

    return dict(await eventually(settled))


def _worth(items: list[dict[str, Any]]) -> int:
    """What the catalogue charges for these items."""
    return sum(CATALOGUE[item["productId"]].amount * item["quantity"] for item in items)


async def _open_and_pay(client: Client, headers: dict[str, str], *bodies: dict[str, Any]) -> list[Any]:
    """Ask ``POST /payguard/sessions`` for each body and pay every session it opens, whatever it costs."""
    answers = []
    for number, body in enumerate(bodies):
        opened = await client.post("/payguard/sessions", json=body, headers=headers)
        if opened.status_code == 201:
            await _pay(client, headers, opened.json()["id"], f"pay_{number}")
        answers.append(opened)
    return answers


async def test_a_one_cent_session_for_the_yearly_plan_is_priced_by_the_catalogue(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    async with serve(create_app(_shop(tmp_path, database_url, redis_server, "one-cent"))) as client:
        alice = await _login(client, f"alice-{uuid.uuid4().hex[:6]}")
        cheap, priced = await _open_and_pay(client, alice, ONE_CENT, {"bundleId": "pro-yearly"})
        orders = (await client.get("/shop/orders", headers=alice)).json()

    assert all(order["amount"] == _worth(order["items"]) for order in orders), orders  # nothing bought below price
    assert (cheap.status_code, cheap.json()["code"]) == (409, "PRICE_CHANGED")
    assert cheap.json()["price"] == {"amount": 29000, "currency": "USD", "displayName": "Pro, yearly"}
    assert (priced.status_code, priced.json()["planName"], priced.json()["payment"]["amount"]) == (
        201,
        "Pro, yearly",
        29000,
    )
    assert [(order["amount"], order["items"]) for order in orders] == [
        (29000, [{"productId": "pro-yearly", "quantity": 1}])
    ]


async def test_ninety_nine_units_for_one_cent_cannot_be_bought(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    async with serve(create_app(_shop(tmp_path, database_url, redis_server, "ninety-nine"))) as client:
        alice = await _login(client, f"alice-{uuid.uuid4().hex[:6]}")
        cart = (await client.get("/shop/cart", headers=alice)).json()
        forged = {"cartId": cart["id"], "items": _items(("pro-yearly", 99))}
        as_cart, as_product = await _open_and_pay(
            client,
            alice,
            {"bundleId": f"cart-{cart['id']}", "amount": 1, "currency": "USD", "metadata": forged},
            {"bundleId": "pro-monthly", "metadata": forged},
        )
        await client.post("/shop/cart/items", json={"productId": "pro-yearly", "quantity": 99}, headers=alice)
        through_cart = await client.post("/shop/cart/checkout", headers=alice)
        await _pay(client, alice, through_cart.json()["id"], "pay_cart")
        orders = (await client.get("/shop/orders", headers=alice)).json()

    assert all(order["amount"] == _worth(order["items"]) for order in orders), orders  # nothing bought below price
    assert (as_cart.status_code, as_cart.json()["code"]) == (404, "BUNDLE_NOT_FOUND")
    assert as_product.json()["payment"]["amount"] == 2900
    assert through_cart.json()["payment"]["amount"] == 99 * 29000
    assert sorted((order["amount"], order["items"]) for order in orders) == [
        (2900, [{"productId": "pro-monthly", "quantity": 1}]),  # the metadata's 99 units are not what was sold
        (99 * 29000, [{"productId": "pro-yearly", "quantity": 99}]),
    ]


async def test_another_users_cart_named_in_metadata_is_never_touched(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    async with serve(create_app(_shop(tmp_path, database_url, redis_server, "foreign-cart"))) as client:
        alice = await _login(client, f"alice-{uuid.uuid4().hex[:6]}")
        bob = await _login(client, f"bob-{uuid.uuid4().hex[:6]}")
        bobs = await client.post("/shop/cart/items", json={"productId": "pro-monthly", "quantity": 2}, headers=bob)
        metadata = {"cartId": bobs.json()["id"], "items": _items(("pro-monthly", 2))}
        session = await client.post(
            "/payguard/sessions",
            json={"bundleId": "pro-monthly", "amount": 2900, "currency": "USD", "metadata": metadata},
            headers=alice,
        )
        final = await _pay(client, alice, session.json()["id"], "pay_alice")
        orders = (await client.get("/shop/orders", headers=alice)).json()
        after = (await client.get("/shop/cart", headers=bob)).json()

    assert final["payment"]["status"] == "succeeded"
    assert [order["items"] for order in orders] == [[{"productId": "pro-monthly", "quantity": 1}]]
    assert [(line["productId"], line["quantity"]) for line in after["items"]] == [("pro-monthly", 2)]


async def test_a_payment_through_razorpay_buys_no_more_than_it_paid(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    """Genuine Razorpay Checkout signatures, against the local fake: each order is worth what was captured."""
    with FakeRazorpay("rzp_test_demo", "demo-key-secret", "demo-hook-secret") as fake:
        settings = replace(
            _shop(tmp_path, database_url, redis_server, "razorpay"),
            razorpay_key_id="rzp_test_demo",
            razorpay_key_secret="demo-key-secret",
            razorpay_webhook_secret="demo-hook-secret",
            razorpay_base_url=fake.url,
        )
        async with serve(create_app(settings)) as client:
            name = f"alice-{uuid.uuid4().hex[:6]}"
            alice = await _login(client, name)
            cart = (await client.get("/shop/cart", headers=alice)).json()
            forged = {"cartId": cart["id"], "items": _items(("team-yearly-inr", 99))}
            answers, gateway_orders = [], []
            for body in (
                {"bundleId": "team-yearly-inr", "amount": 100, "currency": "INR", "metadata": forged},  # one rupee
                {"bundleId": "team-yearly-inr", "metadata": forged},
            ):
                opened = await client.post("/payguard/sessions", json=body, headers=alice)
                answers.append(opened.status_code)
                if opened.status_code != 201:
                    continue
                url = f"/payguard/sessions/{opened.json()['id']}"
                order_id = (await client.post(f"{url}/order", headers=alice)).json()["gatewayOrderId"]
                gateway_orders.append(order_id)
                paid = fake.pay(order_id)  # the customer pays what the Razorpay order asks
                signature = fake.checkout_signature(order_id, paid)
                await client.post(
                    f"{url}/complete", json={"gatewayPaymentId": paid, "signature": signature}, headers=alice
                )

                async def settled(url: str = url) -> bool:
                    return bool((await client.get(url, headers=alice)).json()["status"] != "active")

                await eventually(settled)
        orders = await store.rows("SELECT amount, items FROM demo_order WHERE username = :name", name=name)
        captured = [
            payment["amount"]
            for order_id in gateway_orders
            for payment in fake.payments(order_id)
            if payment["status"] == "captured"
        ]

    assert sum(_worth(order["items"]) for order in orders) <= sum(captured), (orders, captured)
    assert answers == [409, 201]
    assert captured == [249900]
    assert [(order["amount"], order["items"]) for order in orders] == [
        (249900, [{"productId": "team-yearly-inr", "quantity": 1}])
    ]


async def test_a_merchant_payment_that_is_not_a_catalogue_price_makes_no_order_and_goes_to_a_person(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYGUARD_FULFILMENT_MAX_ATTEMPTS", "1")  # flag at the first refusal
    merchant = {"X-Api-Key": DEMO_MERCHANT_KEY, "X-Api-Secret": DEMO_MERCHANT_SECRET}
    body = {
        "orderId": "crm-cheap",
        "bundleId": "pro-yearly",
        "customerId": f"crm-{uuid.uuid4().hex[:6]}",
        "amount": 100,
        "currency": "USD",
        "method": "card",
    }
    async with serve(create_app(_shop(tmp_path, database_url, redis_server, "cheap-merchant"))) as client:
        created = await client.post(
            "/payguard/v1/payments", json=body, headers={**merchant, "Idempotency-Key": uuid.uuid4().hex}
        )

        async def flagged() -> Any:
            payment = (await client.get(f"/payguard/v1/payments/{created.json()['id']}", headers=merchant)).json()
            return payment if payment["needsAttention"] else None

        final = await eventually(flagged)

    assert final["status"] == "processing"  # captured at the gateway, no order: a person refunds or settles it
    assert "OrderMismatchError" in final["attentionReason"]
    assert await store.count("demo_order", "payment_id = :id", id=final["id"]) == 0


async def test_the_fulfilment_hook_refuses_a_payment_unlike_the_checkout_the_shop_recorded(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    async with serve(create_app(_shop(tmp_path, database_url, redis_server, "recorded"))) as client:
        alice_name = f"alice-{uuid.uuid4().hex[:6]}"
        alice = await _login(client, alice_name)
        bob = await _login(client, f"bob-{uuid.uuid4().hex[:6]}")
        bobs = (await client.post("/shop/cart/items", json={"productId": "pro-monthly"}, headers=bob)).json()
        await client.post("/shop/cart/items", json={"productId": "pro-monthly"}, headers=alice)
        session = (await client.post("/shop/cart/checkout", headers=alice)).json()
        payguard = payguard_of(client.app)

        async def fulfil(**changes: Any) -> BaseException | None:
            """Run the hook as the worker would, for the stored payment with ``changes``; roll it back."""
            async with payguard.db_session() as db:
                payment = await db.get(Payment, uuid.UUID(session["payment"]["id"]))
                assert payment is not None
                for name, value in changes.items():
                    setattr(payment, name, value)
                try:
                    await fulfil_order(payment, db)
                except OrderMismatchError as exc:
                    return exc
                finally:
                    await db.rollback()
            return None

        refusals = [
            await fulfil(amount=1),
            await fulfil(currency="INR"),
            await fulfil(customer_id=f"{alice_name}-other"),
        ]
        await store.execute(
            "UPDATE demo_checkout SET cart_id = :cart WHERE payment_id = :id",
            cart=bobs["id"],
            id=session["payment"]["id"],
        )
        refusals.append(await fulfil())
        bobs_after = (await client.get("/shop/cart", headers=bob)).json()
        await client.post(f"/payguard/sessions/{session['id']}/cancel", headers=alice)  # leave no open session behind

    assert all(isinstance(refusal, OrderMismatchError) for refusal in refusals), refusals
    assert "not its customer's" in str(refusals[-1])
    assert [(line["productId"], line["quantity"]) for line in bobs_after["items"]] == [("pro-monthly", 1)]
    assert await store.count("demo_order", "username = :name", name=alice_name) == 0
