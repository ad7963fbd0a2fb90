"""Server-side prices: a customer's session is charged what the host's pricing hook says, never what the client
sends; without a hook the route fails closed."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from litestar_payguard import Price
from tests.hostapp import set_price
from tests.integration.conftest import ALICE, BOB, Client, ClientFactory, Store

BASE = "/payguard/sessions"
TABLES = ("payguard_payment", "payguard_session", "payguard_event", "payguard_session_event")
YEARLY = Price(amount=29000, currency="USD", display_name="Pro, yearly")


async def _nothing_stored(store: Store) -> bool:
    return all([await store.count(table) == 0 for table in TABLES])


async def test_a_one_cent_session_for_a_yearly_plan_is_refused_with_the_price(client: Client, store: Store) -> None:
    set_price(client.app, "pro-yearly", YEARLY)

    cheap = await client.post(BASE, json={"bundleId": "pro-yearly", "amount": 1, "currency": "USD"}, headers=ALICE)

    assert (cheap.status_code, cheap.headers["content-type"]) == (409, "application/problem+json")
    problem = cheap.json()
    assert problem["code"] == "PRICE_CHANGED"
    assert problem["price"] == {"amount": 29000, "currency": "USD", "displayName": "Pro, yearly"}
    assert problem["actions"]["acceptPrice"] == {
        "method": "POST",
        "url": BASE,
        "label": "Check out at the current price",
    }
    assert await _nothing_stored(store)


async def test_a_session_is_charged_the_hosts_price_and_named_after_it(client: Client, store: Store) -> None:
    set_price(client.app, "pro-yearly", YEARLY)

    priced = await client.post(BASE, json={"bundleId": "pro-yearly"}, headers=ALICE)
    confirmed = await client.post(
        BASE, json={"bundleId": "pro-yearly", "amount": 29000, "currency": "usd"}, headers=BOB
    )

    assert priced.status_code == confirmed.status_code == 201, (priced.text, confirmed.text)
    for session in (priced.json(), confirmed.json()):
        assert (session["payment"]["amount"], session["payment"]["currency"]) == (29000, "USD")
        assert session["planName"] == "Pro, yearly"
    stored = await store.rows("SELECT amount, currency, plan_name FROM payguard_payment")
    assert stored == [{"amount": 29000, "currency": "USD", "plan_name": "Pro, yearly"}] * 2


async def test_another_currency_is_a_changed_price_too(client: Client, store: Store) -> None:
    set_price(client.app, "pro-yearly", YEARLY)

    response = await client.post(
        BASE, json={"bundleId": "pro-yearly", "amount": 29000, "currency": "INR"}, headers=ALICE
    )

    assert (response.status_code, response.json()["code"]) == (409, "PRICE_CHANGED")
    assert response.json()["price"]["currency"] == "USD"
    assert await _nothing_stored(store)


async def test_a_price_changed_under_an_open_page_is_refused_then_accepted(client: Client, store: Store) -> None:
    set_price(client.app, "pro-yearly", YEARLY)
    shown = (await client.post(BASE, json={"bundleId": "pro-yearly"}, headers=BOB)).json()["payment"]
    set_price(client.app, "pro-yearly", Price(amount=31000, currency="USD"))  # the shop raises its price

    stale = await client.post(BASE, json={"bundleId": "pro-yearly", **_expected(shown)}, headers=ALICE)
    fresh = await client.post(BASE, json={"bundleId": "pro-yearly", **_expected(stale.json()["price"])}, headers=ALICE)

    assert (stale.status_code, stale.json()["price"]["amount"]) == (409, 31000)
    assert (fresh.status_code, fresh.json()["payment"]["amount"]) == (201, 31000)
    assert await store.count("payguard_payment", "customer_id = 'alice'") == 1


def _expected(price: dict[str, Any]) -> dict[str, Any]:
    return {"amount": price["amount"], "currency": price["currency"]}


async def test_the_plan_is_priced_and_named_by_the_host(client: Client, store: Store) -> None:
    set_price(client.app, "pro", Price(amount=2900, currency="USD", display_name="Pro"))
    set_price(client.app, ("pro", "yearly"), YEARLY)
    set_price(client.app, "basic", Price(amount=900, currency="USD"))

    monthly = await client.post(BASE, json={"bundleId": "pro"}, headers=ALICE)
    yearly = await client.post(BASE, json={"bundleId": "pro", "planName": "yearly"}, headers=BOB)
    # a label the client chose cannot dress a Pro charge up as something else
    relabelled = await client.post(
        BASE, json={"bundleId": "pro", "planName": "Enterprise yearly"}, headers={"X-Customer": "carol"}
    )
    unnamed = await client.post(BASE, json={"bundleId": "basic", "planName": "Basic"}, headers=BOB)

    assert (monthly.json()["payment"]["amount"], monthly.json()["planName"]) == (2900, "Pro")
    assert (yearly.json()["payment"]["amount"], yearly.json()["planName"]) == (29000, YEARLY.display_name)
    assert (relabelled.json()["payment"]["amount"], relabelled.json()["planName"]) == (2900, "Pro")
    assert (unnamed.json()["payment"]["amount"], unnamed.json()["planName"]) == (900, "Basic")


async def test_a_bundle_the_host_does_not_sell_answers_404(client: Client, store: Store) -> None:
    set_price(client.app, "retired", None)

    response = await client.post(BASE, json={"bundleId": "retired", "amount": 4900, "currency": "USD"}, headers=ALICE)

    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        404,
        "BUNDLE_NOT_FOUND",
        "bundleId",
    )
    assert await _nothing_stored(store)


async def test_the_hook_may_be_async_and_price_by_request(client_for: ClientFactory, store: Store) -> None:
    seen: list[tuple[str, str | None, str | None]] = []

    async def regional(bundle_id: str, plan_name: str | None, connection: ASGIConnection[Any, Any, Any, Any]) -> Price:
        seen.append((bundle_id, plan_name, connection.headers.get("x-customer")))
        if connection.headers.get("x-region") == "in":
            return Price(amount=99900, currency="INR")
        return Price(amount=1200, currency="EUR")

    async with client_for(pricing=regional) as client:
        india = await client.post(BASE, json={"bundleId": "pro", "planName": "P"}, headers={**ALICE, "X-Region": "in"})
        europe = await client.post(BASE, json={"bundleId": "pro"}, headers=BOB)

    assert (india.json()["payment"]["amount"], india.json()["payment"]["currency"]) == (99900, "INR")
    assert (europe.json()["payment"]["amount"], europe.json()["payment"]["currency"]) == (1200, "EUR")
    assert seen == [("pro", "P", "alice"), ("pro", None, "bob")]


async def test_without_a_pricing_hook_customers_cannot_open_sessions_but_the_host_can(
    client_for: ClientFactory, store: Store
) -> None:
    async with client_for(pricing=None) as client:
        refused = await client.post(BASE, json={"bundleId": "pro", "amount": 1, "currency": "USD"}, headers=ALICE)
        unpriced = await client.post(BASE, json={"bundleId": "pro"}, headers=ALICE)
        assert await _nothing_stored(store)
        hosts = await client.post("/host/checkout/pro", headers=ALICE)  # the host's code sets its amount

    for response in (refused, unpriced):
        assert (response.status_code, response.json()["code"]) == (403, "PRICING_NOT_CONFIGURED")
    assert (hosts.status_code, hosts.json()["payment"]["amount"]) == (201, 1500), hosts.text


async def test_trusted_client_prices_must_be_sent_and_are_charged(client_for: ClientFactory, store: Store) -> None:
    async with client_for(pricing=None, trust_client_prices=True) as client:
        missing = await client.post(BASE, json={"bundleId": "pro", "currency": "USD"}, headers=ALICE)
        assert await _nothing_stored(store)
        trusted = await client.post(BASE, json={"bundleId": "pro", "amount": 700, "currency": "EUR"}, headers=ALICE)

    assert (missing.status_code, missing.json()["code"]) == (422, "VALIDATION_FAILED")
    assert [error["field"] for error in missing.json()["errors"]] == ["amount"]
    assert (trusted.status_code, trusted.json()["payment"]["amount"], trusted.json()["payment"]["currency"]) == (
        201,
        700,
        "EUR",
    )


async def test_without_a_customer_the_hook_is_not_asked(client_for: ClientFactory, store: Store) -> None:
    asked: list[str] = []

    def pricing(bundle_id: str, _plan: str | None, _connection: ASGIConnection[Any, Any, Any, Any]) -> Price:
        asked.append(bundle_id)
        return YEARLY

    async with client_for(pricing=pricing) as client:
        anonymous = await client.post(BASE, json={"bundleId": "pro-yearly"})

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "AUTHENTICATION_REQUIRED")
    assert asked == []
