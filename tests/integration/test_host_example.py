"""The README's host app (docs/examples/host_app.py) runs as written: real auth, prices, a worker, an order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from docs.examples.host_app import create_app
from tests.support import Client, dispose_engine, eventually, running

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "host_app.py"
ALICE = {"Authorization": "Bearer token-alice"}
STAFF = {"Authorization": "Bearer token-staff"}


def test_the_readme_shows_the_example_file_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert EXAMPLE.read_text() in blocks


async def test_the_example_host_app_sells_at_its_prices_and_orders_once_paid(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url.rsplit("/", 1)[0] + "/7")  # a Redis database of its own
    monkeypatch.delenv("RAZORPAY_KEY_ID", raising=False)
    app = create_app()
    try:
        async with running(app), Client(app) as client:
            anonymous = await client.post("/payguard/sessions", json={"bundleId": "pro-monthly"})
            opened = await client.post("/payguard/sessions", json={"bundleId": "pro-monthly"}, headers=ALICE)
            unsold = await client.post("/payguard/sessions", json={"bundleId": "gold"}, headers=ALICE)
            again = await client.post("/shop/buy/pro-monthly", headers=ALICE)
            sid = opened.json()["id"]
            await client.post(f"/payguard/sessions/{sid}/complete", json={"gatewayPaymentId": "pay_1"}, headers=ALICE)

            async def completed() -> bool:
                response = await client.get(f"/payguard/sessions/{sid}", headers=ALICE)
                return bool(response.json()["status"] == "completed")

            await eventually(completed)
            staff = await client.get("/payguard/admin/payments/attention", headers=STAFF)
            customer = await client.get("/payguard/admin/payments/attention", headers=ALICE)
            nobody = await client.get("/payguard/admin/payments/attention")
    finally:
        await dispose_engine(app)

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "AUTHENTICATION_REQUIRED")
    assert opened.status_code == 201, opened.text
    assert (opened.json()["payment"]["amount"], opened.json()["planName"]) == (2900, "Pro, monthly")
    assert (unsold.status_code, unsold.json()["code"]) == (404, "BUNDLE_NOT_FOUND")
    assert (again.status_code, again.json()["code"]) == (409, "PENDING_SAME_BUNDLE")
    assert (staff.status_code, customer.status_code, nobody.status_code) == (200, 403, 401)
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        orders = (await connection.execute(text("SELECT customer_id, bundle_id, amount FROM shop_order"))).all()
    await engine.dispose()
    assert [tuple(order) for order in orders] == [("alice", "pro-monthly", 2900)]
