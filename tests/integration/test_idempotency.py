"""Idempotency-Key on payguard's routes, against real Postgres: every unsafe request safe to retry, exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from litestar_payguard import Principal
from litestar_payguard.services.idempotency import IdempotencyService, fingerprint, key_scope
from litestar_payguard.services.merchants import MerchantService
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import (
    ADMIN,
    ALICE,
    BOB,
    ON_BOTH_DATABASES,
    Client,
    ClientFactory,
    Store,
    create_session,
    payguard_of,
)

BASE = "/payguard/sessions"
BODY = {"bundleId": "bundle-1", "amount": 4900, "currency": "USD"}


def keyed(key: str, headers: dict[str, str] = ALICE) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_a_completed_key_replays_the_stored_response_byte_for_byte(client: Client, store: Store) -> None:
    first = await client.post(BASE, json=BODY, headers=keyed("k-1"))
    second = await client.post(BASE, json=BODY, headers=keyed("k-1"))
    # Same JSON written differently: same canonical body, same fingerprint.
    third = await client.post(
        BASE,
        content=b'{ "currency":"USD",  "amount":4900, "bundleId":"bundle-1" }',
        headers={**keyed("k-1"), "content-type": "application/json"},
    )

    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    for replay in (second, third):
        assert replay.status_code == 201
        assert replay.content == first.content
        assert replay.headers["content-type"] == first.headers["content-type"]
        assert replay.headers["idempotent-replayed"] == "true"
    assert await store.count("payguard_session") == 1
    assert await store.count("payguard_payment") == 1
    assert await store.scalar("SELECT status FROM payguard_idempotency_key") == "completed"


async def test_the_same_key_with_another_body_is_refused(client: Client, store: Store) -> None:
    await client.post(BASE, json=BODY, headers=keyed("k-2"))

    response = await client.post(BASE, json={**BODY, "amount": 5000}, headers=keyed("k-2"))

    assert (response.status_code, response.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert await store.count("payguard_session") == 1


async def test_keys_are_scoped_by_customer_merchant_and_route(client: Client, store: Store) -> None:
    async with payguard_of(client.app).db_session() as db:
        await MerchantService(db).ensure("key_acme", secret="secret_acme")
        await db.commit()
    acme = {"X-Api-Key": "key_acme", "X-Api-Secret": "secret_acme"}

    alice = await client.post(BASE, json=BODY, headers=keyed("shared"))
    bob = await client.post(BASE, json=BODY, headers=keyed("shared", BOB))
    alice_at_acme = await client.post(BASE, json=BODY, headers=keyed("shared", {**ALICE, **acme}))
    sid = alice.json()["id"]
    interrupted = await client.post(f"{BASE}/{sid}/interrupt", json={"kind": "network"}, headers=keyed("shared"))

    assert [r.status_code for r in (alice, bob, alice_at_acme, interrupted)] == [201, 201, 201, 200]
    assert len({alice.json()["id"], bob.json()["id"], alice_at_acme.json()["id"]}) == 3
    assert not any("idempotent-replayed" in r.headers for r in (bob, alice_at_acme, interrupted))
    assert await store.count("payguard_session") == 3
    assert await store.count("payguard_idempotency_key") == 4


@pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"tab\there"])
async def test_invalid_keys_are_refused_before_anything_runs(client: Client, store: Store, key: bytes) -> None:
    response = await client.post(BASE, json=BODY, headers=[*ALICE.items(), ("Idempotency-Key", key)])

    assert (response.status_code, response.json()["code"]) == (400, "IDEMPOTENCY_KEY_INVALID")
    assert response.headers["content-type"] == "application/problem+json"
    assert await store.count("payguard_session") == 0
    assert await store.count("payguard_idempotency_key") == 0


async def test_the_key_is_checked_before_a_body_too_large_is_read(client_for: ClientFactory, store: Store) -> None:
    too_large = b'{"pad": "' + b"x" * 70_000 + b'"}'  # beyond max_body_bytes (64 KiB)
    headers = {**ALICE, "content-type": "application/json"}
    async with client_for(idempotency_required_routes=["/payguard/sessions"]) as client:
        missing = await client.post(BASE, content=too_large, headers=headers)
        invalid = await client.post(BASE, content=too_large, headers={**headers, "Idempotency-Key": "k" * 300})
        valid = await client.post(BASE, content=too_large, headers={**headers, "Idempotency-Key": "k-big"})

    assert (missing.status_code, missing.json()["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")
    assert (invalid.status_code, invalid.json()["code"]) == (400, "IDEMPOTENCY_KEY_INVALID")
    assert (valid.status_code, valid.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert await store.count("payguard_idempotency_key") == 0


async def test_a_route_can_require_a_key(client_for: ClientFactory, store: Store) -> None:
    async with client_for(idempotency_required_routes=["/payguard/sessions"]) as client:
        missing = await client.post(BASE, json=BODY, headers=ALICE)
        given = await client.post(BASE, json=BODY, headers=keyed("k-req"))

    assert (missing.status_code, missing.json()["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")
    assert given.status_code == 201
    assert await store.count("payguard_session") == 1


@ON_BOTH_DATABASES
async def test_200_concurrent_identical_requests_create_exactly_one_session(
    client_for: ClientFactory, store: Store
) -> None:
    async with client_for(pool_size=20) as client:
        responses = await asyncio.gather(*(client.post(BASE, json=BODY, headers=keyed("burst")) for _ in range(200)))
        created = [r for r in responses if r.status_code == 201]
        replays = await asyncio.gather(*(client.post(BASE, json=BODY, headers=keyed("burst")) for _ in range(20)))

    outcomes = Counter(r.status_code if r.status_code == 201 else r.json()["code"] for r in responses)
    assert set(outcomes) <= {201, "IDEMPOTENCY_KEY_IN_USE"}, outcomes
    assert len({r.content for r in created}) == 1
    fresh = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(fresh) == 1
    for response in responses:
        if response.status_code == 409:
            assert response.headers["retry-after"] == "1"
    for replay in replays:
        assert replay.status_code == 201
        assert replay.content == fresh[0].content
        assert replay.headers["idempotent-replayed"] == "true"
    assert await store.count("payguard_session") == 1
    assert await store.count("payguard_payment") == 1
    assert await store.count("payguard_event", "type = 'session.created'") == 1


async def _wait_for_claim(store: Store, key: str) -> None:
    for _ in range(200):
        if await store.count("payguard_idempotency_key", "key = :key AND status = 'in_progress'", key=key):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the first request never claimed its key")


SLOW = "/host/slow-checkout/gold"


async def test_the_same_key_while_the_first_request_runs_is_in_use(client: Client, store: Store) -> None:
    first = asyncio.create_task(client.post(SLOW, headers=keyed("pay")))
    await _wait_for_claim(store, "pay")

    second = await client.post(SLOW, headers=keyed("pay"))
    done = await first
    third = await client.post(SLOW, headers=keyed("pay"))

    assert (second.status_code, second.json()["code"]) == (409, "IDEMPOTENCY_KEY_IN_USE")
    assert second.headers["retry-after"] == "1"
    assert done.status_code == 201
    assert (third.status_code, third.content, third.headers["idempotent-replayed"]) == (201, done.content, "true")
    assert await store.count("payguard_session") == 1


async def test_a_claim_whose_request_died_is_taken_over_after_the_lock_timeout(
    client: Client, store: Store, clock: ManualClock
) -> None:
    payguard = payguard_of(client.app)
    first = await client.post(BASE, json=BODY, headers=keyed("warm-up"))  # resolves the default merchant
    # A request that claimed the key and then died with its process: the claim is committed, nothing else is.
    principal = Principal(merchant_id=await payguard.principals.default_merchant_id(), customer_id="alice")
    body = b'{"bundleId":"bundle-2"}'
    async with payguard.db_session() as db:
        await IdempotencyService(db, payguard.config).claim(
            key_scope(principal, "POST", "/payguard/sessions"), "orphan", fingerprint(body, {})
        )
        await db.commit()
    headers = {**keyed("orphan"), "content-type": "application/json"}

    blocked = await client.post(BASE, content=body, headers=headers)
    clock.advance(89)
    still_blocked = await client.post(BASE, content=body, headers=headers)
    clock.advance(2)
    taken_over = await client.post(BASE, content=body, headers=headers)
    replay = await client.post(BASE, content=body, headers=headers)

    assert first.status_code == 201
    assert [blocked.json()["code"], still_blocked.json()["code"]] == ["IDEMPOTENCY_KEY_IN_USE"] * 2
    assert taken_over.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert await store.count("payguard_payment", "bundle_id = 'bundle-2'") == 1


async def test_a_request_that_lost_its_claim_never_commits(client: Client, store: Store, clock: ManualClock) -> None:
    """The first request outlives the lock timeout; a retry takes the key over. Exactly one applies."""
    first = asyncio.create_task(client.post(SLOW, headers=keyed("slow")))
    await _wait_for_claim(store, "slow")
    clock.advance(91)

    second = await client.post(SLOW, headers=keyed("slow"))
    lost = await first

    assert (lost.status_code, lost.json()["code"]) == (409, "IDEMPOTENCY_KEY_IN_USE")
    assert second.status_code == 201
    assert await store.count("payguard_session") == 1
    assert await store.count("payguard_event", "type = 'payment.created'") == 1


async def test_a_refusal_that_changed_nothing_releases_the_key(
    client: Client, store: Store, clock: ManualClock
) -> None:
    session = await create_session(client)
    await client.post(f"{BASE}/{session['id']}/interrupt", json={"kind": "network"}, headers=ALICE)
    url = f"{BASE}/{session['id']}/resume"

    too_soon = await client.post(url, headers=keyed("retry"))
    clock.advance(3)
    retried = await client.post(url, headers=keyed("retry"))

    assert too_soon.json()["code"] == "RETRY_TOO_SOON"
    assert (retried.status_code, retried.json()["attempt"]) == (200, 2)
    assert "idempotent-replayed" not in retried.headers


async def test_a_refusal_that_recorded_a_change_is_stored_and_replayed(client: Client, store: Store) -> None:
    session = await create_session(client)
    await store.execute("UPDATE payguard_session SET attempt = 3, status = 'interrupted', interrupted_at = created_at")
    url = f"{BASE}/{session['id']}/resume"

    refused = await client.post(url, headers=keyed("last"))
    replayed = await client.post(url, headers=keyed("last"))

    assert refused.json()["code"] == "MAX_ATTEMPTS_REACHED"
    assert await store.scalar("SELECT status FROM payguard_session") == "failed"
    assert (replayed.status_code, replayed.content, replayed.headers["idempotent-replayed"]) == (
        409,
        refused.content,
        "true",
    )
    assert replayed.headers["content-type"] == "application/problem+json"


async def _refuse_when(store: Store, sql_condition: str, *, deferred: bool) -> None:
    await store.execute(
        """
        CREATE OR REPLACE FUNCTION payguard_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure'; END $$
        """
    )
    timing = (
        "CONSTRAINT TRIGGER payguard_test_refuse AFTER UPDATE"
        if deferred
        else "TRIGGER payguard_test_refuse BEFORE UPDATE"
    )
    suffix = "DEFERRABLE INITIALLY DEFERRED" if deferred else ""
    await store.execute(
        f"CREATE {timing} ON payguard_idempotency_key {suffix} FOR EACH ROW WHEN ({sql_condition}) "
        "EXECUTE FUNCTION payguard_test_refuse()"
    )


async def _disarm(store: Store) -> None:
    await store.execute("DROP TRIGGER IF EXISTS payguard_test_refuse ON payguard_idempotency_key")
    await store.execute("DROP FUNCTION IF EXISTS payguard_test_refuse()")


@pytest.mark.parametrize("deferred", [False, True], ids=["storing-the-response", "at-commit"])
async def test_a_failure_where_the_response_is_stored_never_leads_to_a_second_execution(
    client: Client, store: Store, deferred: bool
) -> None:
    """The crash window: the handler ran, its response is being stored. Both commit together or not at all."""
    await _refuse_when(store, "NEW.status = 'completed'", deferred=deferred)
    try:
        crashed = await client.post(BASE, json=BODY, headers=keyed("crash"))
        assert (crashed.status_code, crashed.json()["code"]) == (503, "COMMIT_FAILED")
        # The handler's writes did not survive the failed storing of its response.
        assert await store.count("payguard_session") == 0
        assert await store.count("payguard_idempotency_key") == 0  # released: the client may retry
    finally:
        await _disarm(store)

    retried = await client.post(BASE, json=BODY, headers=keyed("crash"))
    again = await client.post(BASE, json=BODY, headers=keyed("crash"))

    assert retried.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert await store.count("payguard_session") == 1
    assert await store.count("payguard_event", "type = 'session.created'") == 1


async def test_expired_keys_are_fresh_again_and_purged_by_the_job(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    async with client_for(run_worker_in_app=True, idempotency_purge_batch_size=2) as client:
        for index in range(5):
            await client.post(BASE, json={**BODY, "bundleId": f"b-{index}"}, headers=keyed(f"old-{index}"))
        clock.advance(24 * 3600)
        reused = await client.post(BASE, json={"bundleId": "bundle-1"}, headers=keyed("old-0"))
        await client.post(BASE, json={**BODY, "bundleId": "b-fresh"}, headers=keyed("fresh"))
        clock.advance(1)

        purged = await payguard_of(client.app).queue.apply("purge_idempotency_keys", timeout=20)

    assert reused.status_code == 201  # a new request, not IDEMPOTENCY_KEY_REUSED
    assert "idempotent-replayed" not in reused.headers
    assert purged == 4
    assert sorted(row["key"] for row in await store.rows("SELECT key FROM payguard_idempotency_key")) == [
        "fresh",
        "old-0",
    ]


async def test_database_down_during_the_claim_answers_503(client_for: ClientFactory) -> None:
    async with client_for(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none") as client:
        response = await client.post(BASE, json=BODY, headers=keyed("k"))
    assert (response.status_code, response.json()["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert response.headers["retry-after"] == "5"


async def test_an_oversized_body_with_a_key_is_refused_before_the_claim(client: Client, store: Store) -> None:
    response = await client.post(BASE, json={**BODY, "planName": "p" * 70_000}, headers=keyed("big"))
    assert (response.status_code, response.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert await store.count("payguard_idempotency_key") == 0


async def test_host_routes_opt_in_through_the_config_list_or_their_opt(client_for: ClientFactory, store: Store) -> None:
    async with client_for(idempotency_routes=["/host/checkout/{plan}"]) as listed:
        first = await listed.post("/host/checkout/gold", headers=keyed("host-1"))
        again = await listed.post("/host/checkout/gold", headers=keyed("host-1"))
        strict_without = await listed.post("/host/strict-checkout/silver", headers=ALICE)
        strict_with = await listed.post("/host/strict-checkout/silver", headers=keyed("host-2"))
    assert first.status_code == 201
    assert (again.content, again.headers["idempotent-replayed"]) == (first.content, "true")
    assert (strict_without.status_code, strict_without.json()["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")
    assert strict_with.status_code == 201
    assert await store.count("payguard_session") == 2


async def test_a_host_route_that_did_not_opt_in_ignores_the_key(client: Client, store: Store) -> None:
    first = await client.post("/host/checkout/gold", headers=keyed("host-3"))
    again = await client.post("/host/checkout/gold", headers=keyed("host-3"))

    # It ran twice: no key handling on this route (and, without payguard's boundary, the host's
    # before-send handler decides about commits: the test host's default one never commits).
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] != again.json()["id"]
    assert "idempotent-replayed" not in again.headers
    assert await store.count("payguard_idempotency_key") == 0


async def test_concurrent_keyed_requests_of_api_key_merchants_do_not_starve_a_small_pool(
    client_for: ClientFactory, store: Store
) -> None:
    """Each request holds one connection at a time: resolving an API-key merchant, claiming, then running."""
    async with client_for(pool_size=3) as client:
        async with payguard_of(client.app).db_session() as db:
            await MerchantService(db).ensure("key_acme", secret="secret_acme")
            await db.commit()
        acme = {**ALICE, "X-Api-Key": "key_acme", "X-Api-Secret": "secret_acme"}
        responses = await asyncio.wait_for(
            asyncio.gather(
                *(
                    client.post(BASE, json={**BODY, "bundleId": f"b-{i}"}, headers=keyed(f"api-{i}", acme))
                    for i in range(30)
                )
            ),
            timeout=60,
        )

    assert [r.status_code for r in responses] == [201] * 30
    assert await store.count("payguard_session") == 30


async def test_path_parameters_are_part_of_the_request(client: Client, store: Store, clock: ManualClock) -> None:
    first, second = await create_session(client), await create_session(client, bundleId="bundle-2")
    for session in (first, second):
        await client.post(f"{BASE}/{session['id']}/interrupt", json={"kind": "network"}, headers=ALICE)
    clock.advance(3)

    resumed = await client.post(f"{BASE}/{first['id']}/resume", headers=keyed("resume-once"))
    other_session = await client.post(f"{BASE}/{second['id']}/resume", headers=keyed("resume-once"))

    assert resumed.status_code == 200
    assert (other_session.status_code, other_session.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")


async def test_a_5xx_releases_the_key(client: Client, store: Store) -> None:
    url = "/host/failing-checkout/gold"
    failed = await client.post(url, headers=keyed("gw"))
    keys_after_failure = await store.count("payguard_idempotency_key")
    again = await client.post(url, headers=keyed("gw"))

    assert (failed.status_code, failed.json()["code"]) == (502, "GATEWAY_ERROR")
    assert keys_after_failure == 0
    assert (again.status_code, again.json()["code"]) == (502, "GATEWAY_ERROR")  # ran again, not a replay
    assert "idempotent-replayed" not in again.headers
    assert await store.count("payguard_session") == 0


async def test_a_route_with_two_payguard_layers_is_held_by_one(client: Client, store: Store) -> None:
    first = await client.post("/host/double-checkout/gold", headers=keyed("twice"))
    again = await client.post("/host/double-checkout/gold", headers=keyed("twice"))

    assert first.status_code == 201, first.text
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert await store.count("payguard_session") == 1


async def test_a_client_that_disconnects_mid_body_claims_nothing(client: Client, store: Store) -> None:
    app = client.app
    sent: list[dict[str, Any]] = []
    chunks = [
        {"type": "http.request", "body": b'{"bundleId":"b","amo', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": BASE,
        "raw_path": BASE.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"t"),
            (b"x-customer", b"alice"),
            (b"idempotency-key", b"cut"),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
    }
    await app(scope, receive, send)

    assert await store.count("payguard_idempotency_key") == 0
    assert await store.count("payguard_session") == 0


async def test_deeply_nested_bodies_with_a_key_are_refused_not_crashed(client: Client, store: Store) -> None:
    body = b"[" * 30_000 + b"]" * 30_000
    response = await client.post(BASE, content=body, headers={**keyed("deep"), "content-type": "application/json"})

    assert 400 <= response.status_code < 500, response.text
    assert await store.count("payguard_session") == 0


async def test_a_stored_answer_is_never_replayed_to_a_request_the_guards_refuse(client: Client, store: Store) -> None:
    stop = "/payguard/admin/cleanup/stop"
    admin = await client.post(stop, headers={**ADMIN, "Idempotency-Key": "stop-1"})

    anonymous = await client.post(stop, headers={"Idempotency-Key": "stop-1"})
    shopper = await client.post(stop, headers={"X-Role": "shopper", "Idempotency-Key": "stop-1"})
    fresh = await client.post(stop, headers={"Idempotency-Key": "stop-2"})

    assert admin.status_code == 200, admin.text
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["code"] == "AUTHENTICATION_REQUIRED"
    assert "idempotent-replayed" not in anonymous.headers
    assert (shopper.status_code, shopper.json()["code"]) == (403, "FORBIDDEN")
    assert fresh.status_code == 401
    assert await store.count("payguard_idempotency_key") == 1  # the refused requests claimed no key
