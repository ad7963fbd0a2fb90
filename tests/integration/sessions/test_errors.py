"""Bad input, identity and tenancy: 4xx problem details with a code, nothing stored, never 500."""

from __future__ import annotations

from typing import Any

import pytest

from litestar_payguard import Principal, SessionService
from litestar_payguard.exceptions import ValidationFailedError
from litestar_payguard.schemas import SessionCreate
from litestar_payguard.services.merchants import MerchantService
from tests.integration.conftest import ALICE, BOB, Client, ClientFactory, Store, create_session, payguard_of

BASE = "/payguard/sessions"
VALID = {"bundleId": "bundle-1", "amount": 4900, "currency": "USD"}  # the test host's price


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"{not json", 400, "MALFORMED_JSON", None),
        (b"", 422, "VALIDATION_FAILED", None),
        (b"[]", 422, "VALIDATION_FAILED", None),
        ({**VALID, "amount": "100"}, 422, "VALIDATION_FAILED", "amount"),
        ({**VALID, "amount": 10.5}, 422, "VALIDATION_FAILED", "amount"),
        ({**VALID, "amount": 0}, 422, "VALIDATION_FAILED", "amount"),
        ({**VALID, "amount": -5}, 422, "VALIDATION_FAILED", "amount"),
        ({**VALID, "amount": 2**63}, 422, "AMOUNT_TOO_LARGE", "amount"),
        ({**VALID, "amount": 100_000_001}, 422, "AMOUNT_TOO_LARGE", "amount"),
        ({**VALID, "currency": "ZZZ"}, 422, "UNSUPPORTED_CURRENCY", "currency"),
        ({**VALID, "currency": "XAU"}, 422, "UNSUPPORTED_CURRENCY", "currency"),
        ({**VALID, "currency": "DOLLARS"}, 422, "VALIDATION_FAILED", "currency"),
        ({**VALID, "bundleId": ""}, 422, "VALIDATION_FAILED", "bundleId"),
        ({**VALID, "bundleId": "x" * 129}, 422, "VALIDATION_FAILED", "bundleId"),
        ({**VALID, "bundleId": "has space"}, 422, "VALIDATION_FAILED", "bundleId"),
        ({**VALID, "planName": "p" * 129}, 422, "VALIDATION_FAILED", "planName"),
        ({**VALID, "metadata": {f"k{i}": "v" for i in range(21)}}, 422, "VALIDATION_FAILED", "metadata"),
        ({**VALID, "metadata": {"k": "v" * 501}}, 422, "VALIDATION_FAILED", "metadata"),
        ({**VALID, "metadata": {"k": 1}}, 422, "VALIDATION_FAILED", "metadata"),
        ({**VALID, "unknownField": 1}, 422, "VALIDATION_FAILED", None),
        ({**VALID, "planName": "nul\u0000byte"}, 422, "VALIDATION_FAILED", "planName"),
        ({**VALID, "metadata": {"k": "nul\u0000"}}, 422, "VALIDATION_FAILED", "metadata"),
        ({**VALID, "metadata": {"k\u0000": "v"}}, 422, "VALIDATION_FAILED", "metadata"),
        ({"amount": 100, "currency": "USD"}, 422, "VALIDATION_FAILED", None),
    ],
)
async def test_bad_create_bodies_are_rejected_and_store_nothing(
    client: Client, store: Store, body: Any, status: int, code: str, field: str | None
) -> None:
    if isinstance(body, bytes):
        response = await client.post(BASE, content=body, headers={**ALICE, "content-type": "application/json"})
    else:
        response = await client.post(BASE, json=body, headers=ALICE)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["instance"] == BASE
    if field is not None:
        fields = {problem.get("field")} | {error.get("field") for error in problem.get("errors", [])}
        assert field in fields
    for table in ("payguard_payment", "payguard_session", "payguard_event", "payguard_session_event"):
        assert await store.count(table) == 0


async def test_an_oversized_body_is_refused_with_413(client: Client, store: Store) -> None:
    response = await client.post(BASE, json={**VALID, "planName": "p" * 70_000}, headers=ALICE)

    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert await store.count("payguard_session") == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/interrupt", {"kind": "meteor"}),
        ("/interrupt", {}),
        ("/interrupt", {"kind": "network", "detail": "d" * 501}),
        ("/complete", {}),
        ("/complete", {"gatewayPaymentId": ""}),
        ("/complete", {"gatewayPaymentId": 12}),
        ("/complete", {"gatewayPaymentId": "pay\u0000"}),
        ("/interrupt", {"kind": "network", "detail": "\u0000"}),
    ],
)
async def test_bad_transition_bodies_change_nothing(
    client: Client, store: Store, path: str, body: dict[str, Any]
) -> None:
    session = await create_session(client)
    events = await store.count("payguard_event")

    response = await client.post(f"{BASE}/{session['id']}{path}", json=body, headers=ALICE)

    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_FAILED"
    assert await store.scalar("SELECT status FROM payguard_session") == "active"
    assert await store.count("payguard_event") == events


@pytest.mark.parametrize("session_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "%20"])
@pytest.mark.parametrize("suffix", ["", "/summary"])
async def test_unknown_ids_answer_404_problem(client: Client, session_id: str, suffix: str) -> None:
    response = await client.get(f"{BASE}/{session_id}{suffix}", headers=ALICE)

    assert response.status_code == 404
    assert response.json()["code"] == "SESSION_NOT_FOUND"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("GET", "/summary", None),
        ("POST", "/interrupt", {"kind": "user"}),
        ("POST", "/resume", None),
        ("POST", "/complete", {"gatewayPaymentId": "pay_1"}),
        ("POST", "/cancel", None),
    ],
)
async def test_another_customers_session_is_404_and_untouched(
    client: Client, store: Store, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    session = await create_session(client, headers=ALICE)
    events = await store.count("payguard_event")

    response = await client.request(method, f"{BASE}/{session['id']}{suffix}", json=body, headers=BOB)

    assert response.status_code == 404
    assert response.json()["code"] == "SESSION_NOT_FOUND"
    assert await store.scalar("SELECT status FROM payguard_session") == "active"
    assert await store.count("payguard_event") == events


async def test_without_a_customer_the_session_routes_answer_401(client: Client, store: Store) -> None:
    response = await client.post(BASE, json=VALID)

    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_REQUIRED"
    assert await store.count("payguard_payment") == 0


async def test_merchants_authenticate_by_api_key_and_see_only_their_sessions(client: Client, store: Store) -> None:
    async with payguard_of(client.app).db_session() as db:
        await MerchantService(db).ensure("key_acme", name="Acme", secret="secret_acme")
        await MerchantService(db).ensure("key_globex", name="Globex", secret="secret_globex")
        await db.commit()
    acme = {**ALICE, "X-Api-Key": "key_acme", "X-Api-Secret": "secret_acme"}
    globex = {**ALICE, "X-Api-Key": "key_globex", "X-Api-Secret": "secret_globex"}

    session = await create_session(client, headers=acme)

    assert (await client.get(f"{BASE}/{session['id']}", headers=acme)).status_code == 200
    # The same customer id under another merchant, or under the default merchant, sees nothing.
    assert (await client.get(f"{BASE}/{session['id']}", headers=globex)).status_code == 404
    assert (await client.get(f"{BASE}/{session['id']}", headers=ALICE)).status_code == 404
    merchant = await store.scalar(
        "SELECT m.api_key FROM payguard_session s JOIN payguard_merchant m ON m.id = s.merchant_id"
    )
    assert merchant == "key_acme"
    stored = await store.scalar("SELECT secret_hash FROM payguard_merchant WHERE api_key = 'key_acme'")
    assert "secret_acme" not in stored
    assert stored.startswith("sha256$")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Api-Key": "key_acme", "X-Api-Secret": "wrong"},
        {"X-Api-Key": "key_unknown", "X-Api-Secret": "secret_acme"},
        {"X-Api-Key": "key_acme"},
        {"X-Api-Secret": "secret_acme"},
    ],
)
async def test_bad_api_credentials_answer_401_and_never_echo_the_secret(
    client: Client, store: Store, headers: dict[str, str]
) -> None:
    async with payguard_of(client.app).db_session() as db:
        await MerchantService(db).ensure("key_acme", secret="secret_acme")
        await db.commit()

    response = await client.post(BASE, json=VALID, headers={**ALICE, **headers})

    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_API_CREDENTIALS"
    assert "secret_acme" not in response.text
    assert await store.count("payguard_payment") == 0


async def test_errors_outside_payguard_keep_the_hosts_format(client: Client) -> None:
    response = await client.get("/host/nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert (await client.get("/host/ping")).json() == {"host": "ok"}


@pytest.mark.parametrize(
    ("customer", "code"),
    [("c" * 256, "INVALID_CUSTOMER_ID"), ("nul\x00", "INVALID_CUSTOMER_ID"), ("", "AUTHENTICATION_REQUIRED")],
)
async def test_an_unusable_customer_id_from_the_host_is_refused(
    client_for: ClientFactory, store: Store, customer: str, code: str
) -> None:
    async with client_for(customer_id=lambda _: customer) as client:
        response = await client.post(BASE, json=VALID)

    assert (response.status_code, response.json()["code"]) == (401, code)
    assert await store.count("payguard_payment") == 0


async def test_structs_built_in_code_meet_the_schema_too(client: Client, store: Store) -> None:
    payguard = payguard_of(client.app)
    merchant = await payguard.principals.default_merchant_id()
    async with payguard.db_session() as db:
        service = SessionService(db, payguard.config, Principal(merchant_id=merchant, customer_id="alice"))
        for bad in (
            SessionCreate(bundle_id="ok", amount=0, currency="USD"),
            SessionCreate(bundle_id="has space", amount=100, currency="USD"),
            SessionCreate(bundle_id="x" * 200, amount=100, currency="USD"),
        ):
            with pytest.raises(ValidationFailedError):
                await service.create(bad)
        created = await service.create(SessionCreate(bundle_id="ok", amount=100, currency="usd"))
        assert created.payment.currency == "USD"
        await db.commit()

    assert await store.count("payguard_session") == 1
