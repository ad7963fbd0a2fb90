"""Strict input on payguard's routes: JSON bodies (UTF-8, declared as JSON), strict query parameters, error
fields by their wire names, and amounts too large for money. Bad input never changes stored state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from litestar_payguard.models import PayGuardModel
from tests.integration.conftest import ALICE, Client, Store, create_session
from tests.integration.test_payments_api import ACME, PAYMENTS, create_payment, keyed, payment_body, seed_merchants

SESSIONS = "/payguard/sessions"
SESSION = {"bundleId": "bundle-strict", "amount": 4900, "currency": "USD"}
JSON = {"content-type": "application/json"}
ADMIN_ACME = {**ACME, "X-Role": "admin"}


async def stored(store: Store) -> dict[str, Any]:
    """Every payguard table's rows, to compare before and after a refused request."""
    tables = {}
    for table in PayGuardModel.metadata.sorted_tables:
        tables[table.name] = await store.rows(f"SELECT * FROM {table.name} ORDER BY id")
    return tables


async def warmed_up(client: Client, store: Store) -> dict[str, Any]:
    """Merchants, a session and a payment exist (the default merchant is made on first use); their rows now."""
    await seed_merchants(client)
    await create_session(client)
    await create_payment(client)
    return await stored(store)


def encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


# -- defect 4: invalid UTF-8 inside a JSON string ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        (SESSIONS, ALICE, b'{"bundleId":"b","amount":100,"currency":"USD","planName":"caf\xe9"}'),
        (PAYMENTS, keyed(), b'{"orderId":"o-\xff","bundleId":"b","customerId":"c","amount":1,"currency":"INR"}'),
        ("/payguard/can-proceed", ALICE, b'{"bundleId":"\xc3"}'),
    ],
)
async def test_invalid_utf8_in_a_json_string_is_malformed_json_and_changes_nothing(
    client: Client, store: Store, path: str, headers: dict[str, str], body: bytes
) -> None:
    before = await warmed_up(client, store)

    response = await client.post(path, content=body, headers={**headers, **JSON})

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["instance"]) == ("MALFORMED_JSON", path)
    assert await stored(store) == before


async def test_invalid_utf8_in_a_transition_body_changes_nothing(client: Client, store: Store) -> None:
    session = await create_session(client)
    before = await stored(store)

    response = await client.post(
        f"{SESSIONS}/{session['id']}/interrupt",
        content=b'{"kind":"network","detail":"\xfe"}',
        headers={**ALICE, **JSON},
    )

    assert (response.status_code, response.json()["code"]) == (400, "MALFORMED_JSON")
    assert await stored(store) == before


# -- defect 5: Content-Type is enforced ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json; charset=iso-8859-1",
        "",
        None,
    ],
)
async def test_a_body_not_declared_as_json_is_refused_with_415_and_changes_nothing(
    client: Client, store: Store, content_type: str | None
) -> None:
    """An HTML form can post text/plain, form or multipart bodies cross-site without a preflight."""
    before = await warmed_up(client, store)
    headers = {**ALICE} if content_type is None else {**ALICE, "content-type": content_type}

    response = await client.post(SESSIONS, content=encoded({**SESSION, "bundleId": "other"}), headers=headers)

    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert response.json()["supportedMediaTypes"] == ["application/json"]
    assert await stored(store) == before


async def test_a_keyed_request_not_declared_as_json_claims_no_key(client: Client, store: Store) -> None:
    before = await warmed_up(client, store)

    response = await client.post(
        PAYMENTS, content=encoded(payment_body()), headers={**keyed(), "content-type": "text/plain"}
    )

    assert (response.status_code, response.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert await stored(store) == before


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/vnd.shop+json"]
)
async def test_json_media_types_are_accepted(client: Client, content_type: str) -> None:
    response = await client.post(SESSIONS, content=encoded(SESSION), headers={**ALICE, "content-type": content_type})

    assert response.status_code == 201, response.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("action", ["cancel", "resume"])
async def test_a_bodyless_transition_with_a_form_content_type_is_refused(
    client: Client, store: Store, content_type: str, action: str
) -> None:
    session = await create_session(client)
    before = await stored(store)

    response = await client.post(
        f"{SESSIONS}/{session['id']}/{action}", content=b"", headers={**ALICE, "content-type": content_type}
    )

    assert (response.status_code, response.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert await stored(store) == before


async def test_a_bodyless_transition_without_content_type_passes(client: Client, store: Store) -> None:
    session = await create_session(client)

    response = await client.post(f"{SESSIONS}/{session['id']}/cancel", headers=ALICE)

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert await store.scalar("SELECT status FROM payguard_session") == "cancelled"


async def test_the_hosts_opted_in_routes_keep_their_own_content_rules(client: Client) -> None:
    headers = {**ALICE, "Idempotency-Key": "host-1", "content-type": "text/plain"}

    response = await client.post("/host/strict-checkout/plan-a", content=b"ignored", headers=headers)

    assert response.status_code == 201, response.text


# -- defect 6: strict query parameters, wire names, big amounts ----------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=1e2", "limit"),
        ("limit=+5", "limit"),
        ("limit=1_0", "limit"),
        ("limit=0", "limit"),
        ("createdTo=0.5", "createdTo"),
        ("createdFrom=1767225600", "createdFrom"),
        ("createdTo=2026-03-01", "createdTo"),
        ("createdTo=2026-03-01T12:00:00", "createdTo"),
        ("createdTo=2026-13-01T12:00:00Z", "createdTo"),
        ("customerId=" + "c" * 256, "customerId"),
    ],
)
async def test_query_parameters_are_parsed_strictly_and_named_as_sent(client: Client, query: str, field: str) -> None:
    await seed_merchants(client)

    response = await client.get(f"{PAYMENTS}?{query}", headers=ACME)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert [(error["field"], error["source"]) for error in problem["errors"]] == [(field, "query")]


@pytest.mark.parametrize(
    ("path", "headers", "query", "field"),
    [
        ("/payguard/admin/sessions/active", ADMIN_ACME, "pageSize=1e1", "pageSize"),
        ("/payguard/admin/sessions/active", ADMIN_ACME, "currentPage=0", "currentPage"),
        ("/payguard/admin/payments/attention", ADMIN_ACME, "limit=2.0", "limit"),
    ],
)
async def test_admin_lists_parse_their_query_strictly_too(
    client: Client, path: str, headers: dict[str, str], query: str, field: str
) -> None:
    await seed_merchants(client)

    response = await client.get(f"{path}?{query}", headers=headers)

    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        (PAYMENTS, "limit=1&limit=2", "limit"),
        (PAYMENTS, "status=pending&status=failed", "status"),
        (PAYMENTS, "createdTo=2026-03-01T12:00:00Z&createdTo=2026-03-02T12:00:00Z", "createdTo"),
        ("/payguard/admin/sessions/active", "pageSize=5&pageSize=5", "pageSize"),
    ],
)
async def test_a_repeated_query_parameter_is_refused(client: Client, path: str, query: str, parameter: str) -> None:
    await seed_merchants(client)

    response = await client.get(f"{path}?{query}", headers=ADMIN_ACME)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["parameter"]) == ("QUERY_PARAMETER_REPEATED", parameter)


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        (PAYMENTS, "customer_id=alice", "customer_id"),  # the snake_case spelling would list everyone's payments
        (PAYMENTS, "limit=5&sort=amount", "sort"),
        ("/payguard/pending", "all=true", "all"),
        ("/payguard/admin/sessions/active", "page=2", "page"),
    ],
)
async def test_a_query_parameter_the_route_does_not_take_is_refused(
    client: Client, path: str, query: str, parameter: str
) -> None:
    await seed_merchants(client)

    response = await client.get(f"{path}?{query}", headers={**ADMIN_ACME, **ALICE})

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["parameters"]) == ("QUERY_PARAMETER_UNKNOWN", [parameter])
    assert parameter not in body["allowed"]


async def test_strict_query_parameters_still_filter(client: Client) -> None:
    await seed_merchants(client)
    payment = await create_payment(client)

    listed = await client.get(
        f"{PAYMENTS}?limit=5&createdFrom=2026-03-01T11:00:00%2B00:00&createdTo=2026-03-01t13:00:00z", headers=ACME
    )
    later = await client.get(f"{PAYMENTS}?createdFrom=2026-03-01T12:00:01.5Z", headers=ACME)

    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [payment["id"]]
    assert later.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 100, "currency": "USD"}, "bundleId"),
        ({**SESSION, "surprise": 1}, "surprise"),
        ({**SESSION, "planName": 5}, "planName"),
        ({**SESSION, "metadata": {"k" * 41: "v"}}, "metadata"),
        ({**SESSION, "metadata": {"k": ["v"]}}, "metadata"),
    ],
)
async def test_body_errors_name_the_member_as_sent(
    client: Client, store: Store, body: dict[str, Any], field: str
) -> None:
    response = await client.post(SESSIONS, json=body, headers=ALICE)

    assert response.status_code == 422, response.text
    assert [(error["field"], error["source"]) for error in response.json()["errors"]] == [(field, "body")]
    assert await store.count("payguard_session") == 0


@pytest.mark.parametrize("amount", [100_000_001, 2**53 - 1, 2**53, 2**63, 2**64 + 1, 10**30])
async def test_amounts_above_what_money_allows_are_amount_too_large_everywhere(
    client: Client, store: Store, amount: int
) -> None:
    before = await warmed_up(client, store)
    payment_id = before["payguard_payment"][0]["id"]

    answers = [
        await client.post(SESSIONS, json={**SESSION, "amount": amount}, headers=ALICE),
        await client.post(PAYMENTS, json=payment_body(amount=amount), headers=keyed()),
        await client.post(f"{PAYMENTS}/{payment_id}/refunds", json={"amount": amount}, headers=keyed()),
    ]

    for answer in answers:
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert (problem["code"], problem["field"], problem["maximum"]) == ("AMOUNT_TOO_LARGE", "amount", 100_000_000)
    assert await stored(store) == before


# -- found by the OpenAPI contract test: numbers as JSON Schema counts them ------------------------------------------


@pytest.mark.parametrize("amount", [b"4900.0", b"49e2", b"4.9E3"])
async def test_an_integral_number_is_an_integer_as_the_document_says(
    client: Client, store: Store, amount: bytes
) -> None:
    body = b'{"bundleId":"bundle-strict","currency":"USD","amount":' + amount + b"}"

    response = await client.post(SESSIONS, content=body, headers={**ALICE, **JSON})

    assert response.status_code == 201, response.text
    assert response.json()["payment"]["amount"] == 4900
    assert await store.scalar("SELECT amount FROM payguard_payment") == 4900


@pytest.mark.parametrize("amount", [b"4900.5", b'"4900"', b"1e400", b"-1e400"])
async def test_a_fraction_a_string_or_a_number_beyond_a_float_is_refused_not_crashed(
    client: Client, store: Store, amount: bytes
) -> None:
    before = await warmed_up(client, store)
    body = b'{"bundleId":"bundle-other","currency":"USD","amount":' + amount + b"}"

    response = await client.post(SESSIONS, content=body, headers={**ALICE, **JSON})

    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["errors"][0]["field"]) == ("VALIDATION_FAILED", "amount")
    assert await stored(store) == before


async def test_an_amount_nested_past_the_stack_is_refused_not_crashed(client: Client, store: Store) -> None:
    body = b'{"bundleId":"bundle-deep","currency":"USD","amount":' + b"[" * 30_000 + b"]" * 30_000 + b"}"

    response = await client.post(SESSIONS, content=body, headers={**ALICE, **JSON})

    assert response.status_code == 422, response.text
    assert await store.count("payguard_session") == 0


@pytest.mark.parametrize("rest", [b"]", b'"b" "c"}', b'"caf\xe9"}'])
async def test_malformed_json_after_a_wrong_type_is_malformed_json_not_a_crash(
    client: Client, store: Store, rest: bytes
) -> None:
    body = b'{"amount": {}, "bundleId": ' + rest  # the typed decoding stops at the amount, before the rest

    response = await client.post(SESSIONS, content=body, headers={**ALICE, **JSON})

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "MALFORMED_JSON"
    assert await store.count("payguard_session") == 0
