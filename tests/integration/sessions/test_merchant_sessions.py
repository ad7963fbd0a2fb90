"""Checkout sessions the merchant API opens, and the return URLs a session may lead to."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from litestar_payguard import MerchantService, Price
from tests.hostapp import DEFAULT_PRICE, set_price
from tests.integration.conftest import ON_BOTH_DATABASES, Client, Store, payguard_of
from tests.support import ALICE

CREATE = "/payguard/v1/checkout-sessions"
SHOP = {"X-Api-Key": "key_shop", "X-Api-Secret": "secret_shop"}
ORIGINS = ["https://shop.example", "http://localhost:8000"]


async def seed_shop(client: Client, origins: list[str] = ORIGINS) -> None:
    async with payguard_of(client.app).db_session() as db:
        await MerchantService(db).ensure("key_shop", name="Shop", secret="secret_shop", allowed_origins=origins)
        await db.commit()


async def open_session(client: Client, **body: Any) -> Any:
    payload = {"customerId": "cust-42", "bundleId": f"bundle-{uuid.uuid4().hex[:8]}", **body}
    return await client.post(CREATE, json=payload, headers={**SHOP, "Idempotency-Key": uuid.uuid4().hex})


@ON_BOTH_DATABASES
async def test_the_merchant_opens_a_session_for_its_customer_at_its_price(client: Client, store: Store) -> None:
    await seed_shop(client)
    response = await open_session(
        client,
        amount=12_500,
        currency="inr",
        successUrl="https://shop.example/orders/1042?paid=1",
        cancelUrl="http://localhost:8000/cart",
        metadata={"order": "1042"},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["payment"]["amount"] == 12_500
    assert body["payment"]["currency"] == "INR"
    assert (body["successUrl"], body["cancelUrl"]) == (
        "https://shop.example/orders/1042?paid=1",
        "http://localhost:8000/cart",
    )
    assert body["checkoutUrl"] == f"http://testserver/payguard/checkout/{body['id']}#{body['clientSecret']}"
    stored = await store.rows("SELECT customer_id, success_url FROM payguard_session")
    assert stored == [{"customer_id": "cust-42", "success_url": "https://shop.example/orders/1042?paid=1"}]
    # The page acts for that customer with the secret alone.
    polled = await client.get(
        f"/payguard/sessions/{body['id']}", headers={"PayGuard-Client-Secret": body["clientSecret"]}
    )
    assert polled.status_code == 200, polled.text
    assert polled.json()["successUrl"] == "https://shop.example/orders/1042?paid=1"


async def test_without_a_price_the_hook_prices_the_bundle(client: Client) -> None:
    await seed_shop(client)
    set_price(client.app, "gold", Price(31_000, "USD", display_name="Gold"))

    priced = await open_session(client, bundleId="gold")
    default = await open_session(client)

    assert priced.status_code == 201, priced.text
    assert (priced.json()["payment"]["amount"], priced.json()["planName"]) == (31_000, "Gold")
    assert default.json()["payment"]["amount"] == DEFAULT_PRICE.amount


@ON_BOTH_DATABASES
@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/phish",
        "https://shop.example.evil.example/",
        "http://shop.example/orders",  # another scheme is another origin
        "https://shop.example:8443/orders",
        "https://user@shop.example/orders",
    ],
)
async def test_a_return_url_off_the_allowed_origins_is_refused_and_nothing_stored(
    client: Client, store: Store, url: str
) -> None:
    await seed_shop(client)
    for field in ("successUrl", "cancelUrl"):
        response = await open_session(client, amount=100, currency="USD", **{field: url})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "RETURN_URL_NOT_ALLOWED"
        assert response.json()["field"] == field
    assert await store.count("payguard_session") == 0
    assert await store.count("payguard_payment") == 0


async def test_the_customer_route_checks_return_urls_too(client: Client, store: Store) -> None:
    await seed_shop(client, origins=[])  # the default merchant has none either
    response = await client.post(
        "/payguard/sessions",
        json={"bundleId": "pro", "amount": 4900, "currency": "USD", "successUrl": "https://shop.example/done"},
        headers=ALICE,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "RETURN_URL_NOT_ALLOWED"
    assert await store.count("payguard_session") == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 100}, "currency"),
        ({"currency": "USD"}, "amount"),
        ({"amount": 100, "currency": "USD", "successUrl": "javascript:alert(1)"}, "successUrl"),
        ({"amount": 100, "currency": "USD", "cancelUrl": "https://shop.example/a b"}, "cancelUrl"),
        ({"amount": 100, "currency": "USD", "cancelUrl": "https://shop.example/\t"}, "cancelUrl"),
        ({"amount": 100, "currency": "USD", "successUrl": "https://shop.example/orders\n"}, "successUrl"),
        ({"amount": 100, "currency": "USD", "customerId": ""}, "customerId"),
    ],
)
async def test_bad_input_is_refused_with_the_field(
    client: Client, store: Store, body: dict[str, Any], field: str
) -> None:
    await seed_shop(client)
    response = await open_session(client, **body)
    assert response.status_code in {400, 422}, response.text
    assert field in response.text
    assert await store.count("payguard_session") == 0


async def test_the_merchant_api_needs_its_keys(client: Client) -> None:
    response = await client.post(
        CREATE, json={"customerId": "c", "bundleId": "pro"}, headers={"Idempotency-Key": "k" * 20}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_REQUIRED"


async def test_an_allowed_origin_is_an_origin(client: Client) -> None:
    async with payguard_of(client.app).db_session() as db:
        merchants = MerchantService(db)
        for bad in ("https://shop.example/path", "shop.example", "ftp://shop.example", "https://shop.example?x=1"):
            with pytest.raises(ValueError, match="origin"):
                await merchants.ensure("key_bad", allowed_origins=[bad])
        merchant = await merchants.ensure("key_ok", allowed_origins=["https://Shop.Example:443/", "https://a.example"])
        assert merchant.allowed_origins == ["https://a.example", "https://shop.example"]


async def test_the_merchant_api_needs_an_idempotency_key(client: Client, store: Store) -> None:
    await seed_shop(client)
    response = await client.post(CREATE, json={"customerId": "c", "bundleId": "pro"}, headers=SHOP)
    assert response.status_code == 400
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert await store.count("payguard_session") == 0


@ON_BOTH_DATABASES
async def test_the_merchant_reads_and_replaces_its_allowed_origins(client: Client, store: Store) -> None:
    await seed_shop(client, origins=["https://old.example"])
    account = await client.get("/payguard/v1/merchant", headers=SHOP)
    assert account.status_code == 200, account.text
    assert (account.json()["name"], account.json()["allowedOrigins"]) == ("Shop", ["https://old.example"])

    changed = await client.patch(
        "/payguard/v1/merchant",
        json={"allowedOrigins": ["HTTPS://Shop.Example:443/", "http://localhost:8000", "https://shop.example"]},
        headers=SHOP,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["allowedOrigins"] == ["http://localhost:8000", "https://shop.example"]
    response = await open_session(client, amount=100, currency="USD", successUrl="https://shop.example/done")
    assert response.status_code == 201, response.text
    refused = await open_session(client, amount=100, currency="USD", successUrl="https://old.example/done")
    assert refused.json()["code"] == "RETURN_URL_NOT_ALLOWED"


@pytest.mark.parametrize(
    "bad",
    ["https://shop.example/path", "ftp://shop.example", "https://:443", "shop.example", "http://[", "https://a:x"],
)
async def test_an_origin_that_is_not_one_is_refused_and_nothing_changes(client: Client, bad: str) -> None:
    await seed_shop(client)
    response = await client.patch(
        "/payguard/v1/merchant", json={"allowedOrigins": ["https://ok.example", bad]}, headers=SHOP
    )
    assert response.status_code in {400, 422}, response.text
    assert response.json()["code"] in {"VALIDATION_FAILED", "ALLOWED_ORIGIN_INVALID"}
    assert (await client.get("/payguard/v1/merchant", headers=SHOP)).json()["allowedOrigins"] == sorted(ORIGINS)


async def test_the_account_needs_the_keys(client: Client) -> None:
    assert (await client.get("/payguard/v1/merchant")).status_code == 401
