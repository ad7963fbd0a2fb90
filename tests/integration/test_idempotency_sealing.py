"""Stored idempotency answers at rest: sealed with ``webhook_secret_key``, replayed byte for byte, never readable raw.

An answer can hold a secret (here a webhook endpoint's signing secret) and is kept for a day to be replayed.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from litestar_payguard.services.idempotency.answers import SEALED_ANSWER_PREFIX
from tests.integration.conftest import ON_BOTH_DATABASES, ClientFactory, Store
from tests.integration.webhooks.outbound import ENDPOINTS, keyed, seed_merchants

OTHER_KEY = base64.b64encode(b"another deployment's key, 32 b!!").decode()
BODY = {"url": "https://hooks.example/orders"}


async def _create(client_for: ClientFactory, headers: dict[str, str], **config: Any) -> httpx.Response:
    async with client_for(**config) as client:
        await seed_merchants(client)
        response = await client.post(ENDPOINTS, json=BODY, headers=headers)
    assert response.status_code == 201, response.text
    return response


async def _stored_body(store: Store) -> bytes:
    return bytes(await store.scalar("SELECT response_body FROM payguard_idempotency_key"))


@ON_BOTH_DATABASES
async def test_an_answer_holding_a_secret_is_stored_sealed_and_replays_byte_for_byte(
    client_for: ClientFactory, store: Store
) -> None:
    headers = keyed()
    first = await _create(client_for, headers)
    async with client_for() as client:
        replay = await client.post(ENDPOINTS, json=BODY, headers=headers)

    assert (replay.status_code, replay.headers["idempotent-replayed"]) == (201, "true")
    assert replay.content == first.content
    stored = await _stored_body(store)
    assert stored.startswith(SEALED_ANSWER_PREFIX)
    for readable in (first.json()["secret"].encode(), b"whsec_", first.json()["id"].encode(), b'"url"'):
        assert readable not in stored
    assert await store.count("payguard_webhook_endpoint") == 1


@ON_BOTH_DATABASES
async def test_without_a_key_answers_are_stored_as_they_are_and_still_replay_once_a_key_is_set(
    client_for: ClientFactory, store: Store
) -> None:
    headers = keyed()
    first = await _create(client_for, headers, webhook_secret_key=None)
    assert await _stored_body(store) == first.content  # what the docs say happens without a key

    async with client_for() as client:  # the key set afterwards
        replay = await client.post(ENDPOINTS, json=BODY, headers=headers)

    assert (replay.status_code, replay.content) == (201, first.content)
    assert await store.count("payguard_webhook_endpoint") == 1


@ON_BOTH_DATABASES
async def test_a_sealed_answer_another_key_cannot_open_is_refused_and_nothing_is_applied_again(
    client_for: ClientFactory, store: Store
) -> None:
    headers = keyed()
    await _create(client_for, headers)
    stored = await _stored_body(store)

    for config in ({"webhook_secret_key": OTHER_KEY}, {"webhook_secret_key": None}):
        async with client_for(**config) as client:
            refused = await client.post(ENDPOINTS, json=BODY, headers=headers)

        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["code"] == "IDEMPOTENCY_REPLAY_UNREADABLE"
        assert "whsec_" not in refused.text
        assert await store.count("payguard_webhook_endpoint") == 1
        assert await _stored_body(store) == stored
        assert await store.scalar("SELECT status FROM payguard_idempotency_key") == "completed"


@ON_BOTH_DATABASES
async def test_a_sealed_answer_copied_onto_another_key_does_not_open_there(
    client_for: ClientFactory, store: Store
) -> None:
    first, second = keyed(key="key-a"), keyed(key="key-b")
    await _create(client_for, first)
    async with client_for() as client:
        other = await client.post(ENDPOINTS, json={"url": "https://hooks.example/other"}, headers=second)
        await store.execute(
            "UPDATE payguard_idempotency_key SET response_body = "
            "(SELECT response_body FROM payguard_idempotency_key WHERE key = 'key-a') WHERE key = 'key-b'"
        )
        replay = await client.post(ENDPOINTS, json={"url": "https://hooks.example/other"}, headers=second)

    assert other.status_code == 201
    assert (replay.status_code, replay.json()["code"]) == (409, "IDEMPOTENCY_REPLAY_UNREADABLE")
    assert await store.count("payguard_webhook_endpoint") == 2
