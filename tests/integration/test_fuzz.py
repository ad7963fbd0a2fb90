"""Fuzzed request bodies: never a 5xx, and a refused request stores nothing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import ALICE, Client, Store, create_session

MISSING = object()
anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def field(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, anything, st.just(MISSING))


create_bodies = st.fixed_dictionaries(
    {
        "bundleId": field(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,20}", fullmatch=True)),
        "amount": field(st.integers(min_value=-5, max_value=2**64)),
        "currency": field(st.sampled_from(["USD", "inr", "JPY", "XAU", "ZZZ", "usd "])),
        "planName": field(st.text(min_size=0, max_size=200)),
        "metadata": field(st.dictionaries(st.text(max_size=50), st.text(max_size=600), max_size=25)),
    },
    optional={"surprise": anything},
).map(lambda body: {key: value for key, value in body.items() if value is not MISSING})

TABLES = ("payguard_payment", "payguard_session", "payguard_session_event", "payguard_event")
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


async def _counts(store: Store) -> dict[str, int]:
    return {table: await store.count(table) for table in TABLES}


@FUZZ
@given(body=create_bodies | st.binary(max_size=80))
async def test_create_never_fails_with_5xx_and_refusals_store_nothing(client: Client, store: Store, body: Any) -> None:
    before = await _counts(store)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    response = await client.post(
        "/payguard/sessions", content=content, headers={**ALICE, "content-type": "application/json"}
    )

    assert response.status_code < 500, response.text
    after = await _counts(store)
    if response.status_code == 201:
        assert after["payguard_session"] == before["payguard_session"] + 1
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"]
        assert after == before


@FUZZ
@given(
    path=st.sampled_from(["interrupt", "complete", "resume", "cancel"]),
    body=st.dictionaries(st.sampled_from(["kind", "detail", "gatewayPaymentId", "signature", "x"]), anything)
    | st.binary(max_size=40),
)
async def test_transitions_never_fail_with_5xx(client: Client, store: Store, path: str, body: Any) -> None:
    session = await create_session(client)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    response = await client.post(
        f"/payguard/sessions/{session['id']}/{path}",
        content=content,
        headers={**ALICE, "content-type": "application/json"},
    )

    assert response.status_code < 500, response.text
