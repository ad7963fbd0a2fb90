"""Answers Litestar gives before any handler runs, under payguard's prefix: 404, 405 (HEAD included), OPTIONS
with every method of the path; and 401s that say how to authenticate. The host's other paths keep its format."""

from __future__ import annotations

import pytest

from tests.integration.conftest import ALICE, Client, create_session
from tests.integration.test_payments_api import PAYMENTS, payment_body, seed_merchants

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/payguard/sessions", "OPTIONS, POST"),
        ("PUT", "/payguard/v1/payments", "GET, OPTIONS, POST"),
        ("POST", "/payguard/pending", "GET, OPTIONS"),
        ("PATCH", "/payguard/admin/cleanup/stats", "GET, OPTIONS"),
    ],
)
async def test_a_method_the_path_lacks_is_a_405_problem_with_allow(
    client: Client, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path, headers=ALICE)

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["allow"] == allow
    assert (response.json()["code"], response.json()["instance"]) == ("METHOD_NOT_ALLOWED", path)


async def test_head_on_a_get_route_is_a_405_problem_with_allow(client: Client) -> None:
    session = await create_session(client)

    response = await client.head(f"/payguard/sessions/{session['id']}", headers=ALICE)

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["allow"] == "GET, OPTIONS"


@pytest.mark.parametrize("method", ["GET", "POST", "OPTIONS"])
@pytest.mark.parametrize("path", ["/payguard/nope", "/payguard/admin/nope", "/payguard/v1/payments/x/nope"])
async def test_an_unknown_path_under_the_prefix_is_a_404_problem(client: Client, method: str, path: str) -> None:
    response = await client.request(method, path, headers=ALICE)

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert (response.json()["code"], response.json()["instance"]) == ("NOT_FOUND", path)


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/nope", 404), ("GET", "/payguardian", 404), ("DELETE", "/host/ping", 405)]
)
async def test_the_hosts_paths_keep_the_hosts_error_format(client: Client, method: str, path: str, status: int) -> None:
    response = await client.request(method, path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status_code"] == status


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/payguard/v1/payments", "GET, OPTIONS, POST"),
        ("/payguard/v1/payments/some-id/refunds", "GET, OPTIONS, POST"),
        ("/payguard/v1/payments/some-id", "GET, OPTIONS"),
        ("/payguard/sessions", "OPTIONS, POST"),
    ],
)
async def test_options_lists_every_method_of_the_path(client: Client, path: str, allow: str) -> None:
    response = await client.options(path)

    assert response.status_code == 204
    assert response.headers["allow"] == allow


# -- 401 challenges -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "AUTHENTICATION_REQUIRED"),
        ({"X-Api-Key": "key_acme", "X-Api-Secret": "wrong"}, "INVALID_API_CREDENTIALS"),
        ({"X-Api-Key": "key_acme"}, "INVALID_API_CREDENTIALS"),
    ],
)
async def test_the_merchant_api_challenges_for_its_api_keys(client: Client, headers: dict[str, str], code: str) -> None:
    await seed_merchants(client)

    listing = await client.get(PAYMENTS, headers=headers)
    keyed = await client.post(PAYMENTS, json=payment_body(), headers={**headers, "Idempotency-Key": "k-401"})

    for response in (listing, keyed):
        assert (response.status_code, response.json()["code"]) == (401, code), response.text
        assert response.headers["www-authenticate"] == 'ApiKey realm="payguard"'


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/payguard/pending", {}),  # no customer: the host signs customers in
        ("/payguard/admin/sessions/active", {}),  # the host's admin guard refused
        ("/payguard/pending", {"X-Customer": "c" * 256}),  # the host's hook gave an id payguard cannot store
    ],
)
async def test_a_401_the_hosts_sign_in_answers_names_no_scheme_payguard_cannot_check(
    client: Client, path: str, headers: dict[str, str]
) -> None:
    response = await client.get(path, headers=headers)

    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == 'Host realm="payguard"'
