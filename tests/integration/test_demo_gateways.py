"""The demo with Razorpay keys: test keys are its test gateway, live keys never take the test merchant's money."""

from __future__ import annotations

import uuid
from pathlib import Path

from demo_app import create_app
from demo_app.settings import DemoSettings
from litestar_payguard.testing.razorpay import FakeRazorpay
from litestar_payguard.testing.servers import Server
from tests.support import Client, Store, serve


async def _checkout_order(client: Client) -> dict[str, str]:
    """Log in, check a product out, and open the session's gateway order."""
    token = (await client.post("/auth/login", json={"username": f"u-{uuid.uuid4().hex[:6]}"})).json()["accessToken"]
    auth = {"Authorization": f"Bearer {token}"}
    session = await client.post("/shop/checkout", json={"productId": "pro-monthly"}, headers=auth)
    assert session.status_code == 201, session.text
    order = await client.post(f"/payguard/sessions/{session.json()['id']}/order", headers=auth)
    assert order.status_code == 200, order.text
    return dict(order.json())


async def _order_in_demo(tmp_path: Path, database_url: str, redis_server: Server, fake: FakeRazorpay) -> dict[str, str]:
    """Run the demo with the fake's keys and open a checkout's gateway order."""
    settings = DemoSettings(
        data_dir=tmp_path,
        database_url=database_url,
        redis_url=redis_server.url,
        run_worker=False,
        token_secret="gateways",
        razorpay_key_id=fake.key_id,
        razorpay_key_secret=fake.key_secret,
        razorpay_webhook_secret=fake.webhook_secret,
        razorpay_base_url=fake.url,
    )
    async with serve(create_app(settings)) as client:
        return await _checkout_order(client)


async def test_with_razorpay_test_keys_the_demo_merchant_pays_through_razorpay(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    with FakeRazorpay("rzp_test_Demo", "demo-key-secret", "demo-hook-secret") as fake:
        order = await _order_in_demo(tmp_path, database_url, redis_server, fake)
        at_razorpay = fake.order(order["gatewayOrderId"])

    assert (order["gateway"], at_razorpay["amount"], at_razorpay["currency"]) == ("razorpay", 2900, "USD")
    assert await store.rows("SELECT mode, gateway FROM payguard_payment") == [{"mode": "test", "gateway": "razorpay"}]


async def test_with_razorpay_live_keys_the_demo_merchant_never_reaches_razorpay(
    tmp_path: Path, database_url: str, redis_server: Server, store: Store
) -> None:
    with FakeRazorpay("rzp_live_Demo", "demo-key-secret", "demo-hook-secret") as fake:
        order = await _order_in_demo(tmp_path, database_url, redis_server, fake)
        reached = fake.requests

    assert order["gateway"] == "simulated"
    assert reached == []  # the demo's merchant is a test merchant: live keys are never its gateway
    assert await store.rows("SELECT mode, gateway FROM payguard_payment") == [{"mode": "test", "gateway": "simulated"}]
