"""The merchant API's webhook endpoints: registry, secrets and their rotation, ownership, refusals, idempotency."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from ipaddress import IPv4Address

import pytest

from litestar_payguard.models import DeliveryStatus, WebhookEndpoint
from litestar_payguard.services.webhooks import disable_endpoint, event_type_names
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ON_BOTH_DATABASES, Client, ClientFactory, Store, payguard_of
from tests.integration.webhooks.outbound import (
    ACME,
    ENDPOINTS,
    EVENTS,
    GLOBEX,
    add_delivery,
    create_endpoint,
    delivery_states,
    keyed,
    record_event,
    seed_merchants,
    set_disabled_reason,
    stored_secrets,
)


def secret_key(secret: str) -> bytes:
    assert secret.startswith("whsec_")
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


@ON_BOTH_DATABASES
async def test_an_endpoint_is_created_with_its_secret_which_only_the_secret_route_shows_again(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await seed_merchants(client)
    created = await create_endpoint(
        client, url="https://shop.example/hooks", eventTypes=["payment.succeeded", "refund.*"], description="Orders"
    )
    other = await create_endpoint(client)

    assert created["url"] == "https://shop.example/hooks"
    assert created["eventTypes"] == ["payment.succeeded", "refund.*"]
    assert (created["description"], created["enabled"], created["disabledReason"]) == ("Orders", True, None)
    assert created["createdAt"].startswith("2026-03-01T12:00:00")
    assert len(secret_key(created["secret"])) == 32
    assert created["secret"] != other["secret"]
    shown = await client.get(f"{ENDPOINTS}/{created['id']}", headers=ACME)
    assert shown.status_code == 200
    assert "secret" not in shown.json()
    assert shown.json() == {key: value for key, value in created.items() if key != "secret"}
    secret = await client.get(f"{ENDPOINTS}/{created['id']}/secret", headers=ACME)
    assert secret.json() == {"secret": created["secret"], "previousSecretExpiresAt": None}
    assert await store.count("payguard_webhook_endpoint") == 2
    assert other["eventTypes"] == []  # every type


async def test_endpoints_are_listed_newest_first_page_by_page_and_only_the_merchants_own(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await seed_merchants(client)
    ids = []
    for _ in range(3):
        ids.append((await create_endpoint(client))["id"])
        clock.advance(1)
    await create_endpoint(client, GLOBEX)

    first = (await client.get(ENDPOINTS, params={"limit": 2}, headers=ACME)).json()
    second = (await client.get(ENDPOINTS, params={"limit": 2, "cursor": first["nextCursor"]}, headers=ACME)).json()

    assert [item["id"] for item in first["items"]] == [ids[2], ids[1]]
    assert [item["id"] for item in second["items"]] == [ids[0]]
    assert second["nextCursor"] is None
    assert all("secret" not in item for item in first["items"] + second["items"])
    globex = (await client.get(ENDPOINTS, headers=GLOBEX)).json()
    assert len(globex["items"]) == 1
    bad = await client.get(ENDPOINTS, params={"cursor": "nope"}, headers=ACME)
    assert (bad.status_code, bad.json()["code"]) == (422, "INVALID_CURSOR")


async def test_another_merchants_endpoint_is_not_found_by_any_route(client: Client, store: Store) -> None:
    await seed_merchants(client)
    theirs = await create_endpoint(client, GLOBEX)
    path = f"{ENDPOINTS}/{theirs['id']}"

    answers = [
        await client.get(path, headers=ACME),
        await client.patch(path, json={"description": "mine"}, headers=keyed()),
        await client.delete(path, headers=keyed()),
        await client.get(f"{path}/secret", headers=ACME),
        await client.post(f"{path}/rotate-secret", json={}, headers=keyed()),
        await client.get(f"{ENDPOINTS}/not-a-uuid", headers=ACME),
        await client.get(f"{ENDPOINTS}/{uuid.uuid4()}", headers=ACME),
    ]

    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [
        (404, "WEBHOOK_ENDPOINT_NOT_FOUND")
    ] * len(answers)
    row = (await store.rows("SELECT description, deleted_at FROM payguard_webhook_endpoint"))[0]
    assert (row["description"], row["deleted_at"]) == (None, None)
    assert (await stored_secrets(store))[0] == theirs["secret"]


async def test_the_merchant_api_needs_its_credentials(client: Client, store: Store) -> None:
    await seed_merchants(client)
    anonymous = await client.get(ENDPOINTS)
    wrong = await client.post(ENDPOINTS, json={"url": "https://a.example"}, headers={**ACME, "X-Api-Secret": "x"})

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "AUTHENTICATION_REQUIRED")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "INVALID_API_CREDENTIALS")
    assert await store.count("payguard_webhook_endpoint") == 0


@ON_BOTH_DATABASES
async def test_unknown_event_types_are_refused_listing_the_known_ones_and_nothing_is_stored(
    client: Client, store: Store
) -> None:
    await seed_merchants(client)
    response = await client.post(
        ENDPOINTS, json={"url": "https://a.example/h", "eventTypes": ["payment.settled", "refund.*"]}, headers=keyed()
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "WEBHOOK_EVENT_TYPE_UNKNOWN"
    assert problem["unknown"] == ["payment.settled"]
    assert problem["knownTypes"] == sorted(event_type_names())
    assert await store.count("payguard_webhook_endpoint") == 0


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://shop.example/hooks", "WEBHOOK_URL_NOT_HTTPS"),  # a live merchant: https only
        ("ftp://shop.example/hooks", "WEBHOOK_URL_NOT_HTTPS"),
        ("https:///no-host", "WEBHOOK_URL_INVALID"),
        ("https://user:pass@shop.example/hooks", "WEBHOOK_URL_INVALID"),
        ("https://shop.example:port/hooks", "WEBHOOK_URL_INVALID"),
        ("shop.example/hooks", "WEBHOOK_URL_NOT_HTTPS"),  # no scheme
        ("https://shop.example/with space", "VALIDATION_FAILED"),
        ("", "VALIDATION_FAILED"),
    ],
)
async def test_urls_payguard_does_not_send_to_are_refused(client: Client, store: Store, url: str, code: str) -> None:
    await seed_merchants(client)
    await store.execute("UPDATE payguard_merchant SET test_mode = false WHERE api_key = 'key_globex'")

    response = await client.post(ENDPOINTS, json={"url": url}, headers=keyed(GLOBEX))

    assert (response.status_code, response.json()["code"]) == (422, code), response.text
    assert await store.count("payguard_webhook_endpoint") == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://receiver.example/hooks",  # a name resolving to 127.0.0.1
        "https://127.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://10.1.2.3/hooks",
        "https://169.254.169.254/latest",
        "https://100.64.0.1/hooks",
        "https://[::ffff:192.168.1.1]/hooks",
    ],
)
async def test_targets_that_are_not_public_are_refused_without_the_allow_list(
    client_for: ClientFactory, store: Store, url: str
) -> None:
    async with client_for(webhook_allowed_networks=()) as client:
        await seed_merchants(client)
        response = await client.post(ENDPOINTS, json={"url": url}, headers=keyed())

        assert (response.status_code, response.json()["code"]) == (422, "WEBHOOK_TARGET_BLOCKED"), response.text
        assert "secret" not in response.text.lower()
        assert await store.count("payguard_webhook_endpoint") == 0


async def test_a_host_that_resolves_to_nothing_is_refused(client_for: ClientFactory, store: Store) -> None:
    async def nothing(host: str, port: int) -> list[IPv4Address]:
        return []

    async with client_for(webhook_resolver=nothing) as client:
        await seed_merchants(client)
        response = await client.post(ENDPOINTS, json={"url": "https://gone.example/hooks"}, headers=keyed())

        assert (response.status_code, response.json()["code"]) == (422, "WEBHOOK_TARGET_UNRESOLVED"), response.text
        assert await store.count("payguard_webhook_endpoint") == 0


async def test_a_test_mode_merchant_may_use_plain_http(client: Client, store: Store) -> None:
    await seed_merchants(client)
    created = await create_endpoint(client, url="http://127.0.0.1:8080/hooks")
    assert created["url"] == "http://127.0.0.1:8080/hooks"


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://a.example", "unknown": 1},
        {"url": "https://a.example", "eventTypes": "payment.succeeded"},
        {"url": "https://a.example", "eventTypes": ["Payment.Succeeded"]},
        {"url": "https://a.example", "description": "x" * 501},
        {"url": "https://a.example", "enabled": "yes"},
        {},
    ],
)
async def test_bodies_off_the_schema_are_refused_and_nothing_is_stored(
    client: Client, store: Store, body: dict[str, object]
) -> None:
    await seed_merchants(client)
    response = await client.post(ENDPOINTS, json=body, headers=keyed())

    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_FAILED")
    assert await store.count("payguard_webhook_endpoint") == 0


@ON_BOTH_DATABASES
async def test_patch_changes_what_it_gives_and_enabling_clears_payguards_reason(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await seed_merchants(client)
    created = await create_endpoint(client, description="Orders", eventTypes=["refund.*"])
    path = f"{ENDPOINTS}/{created['id']}"

    moved = await client.patch(path, json={"url": "https://new.example/h", "eventTypes": []}, headers=keyed())
    assert moved.status_code == 200, moved.text
    assert (moved.json()["url"], moved.json()["eventTypes"], moved.json()["description"]) == (
        "https://new.example/h",
        [],
        "Orders",
    )
    cleared = await client.patch(path, json={"description": ""}, headers=keyed())
    assert cleared.json()["description"] is None

    clock.advance(60)
    off = (await client.patch(path, json={"enabled": False}, headers=keyed())).json()
    assert (off["enabled"], off["disabledReason"]) == (False, None)
    assert off["disabledAt"].startswith("2026-03-01T12:01:00")
    await set_disabled_reason(client, created["id"], "The endpoint answered 410 Gone.")
    assert (await client.get(path, headers=ACME)).json()["disabledReason"] == "The endpoint answered 410 Gone."
    on = (await client.patch(path, json={"enabled": True}, headers=keyed())).json()
    assert (on["enabled"], on["disabledReason"], on["disabledAt"]) == (True, None, None)

    refused = await client.patch(path, json={"eventTypes": ["nope.*"]}, headers=keyed())
    assert (refused.status_code, refused.json()["code"]) == (422, "WEBHOOK_EVENT_TYPE_UNKNOWN")
    assert (await client.get(path, headers=ACME)).json()["eventTypes"] == []


@ON_BOTH_DATABASES
async def test_delete_hides_the_endpoint_and_cancels_only_its_pending_deliveries(
    client: Client, store: Store, clock: ManualClock
) -> None:
    merchants = await seed_merchants(client)
    doomed = await create_endpoint(client)
    kept = await create_endpoint(client)
    event = await record_event(client, clock, merchants["acme"])
    pending = await add_delivery(client, doomed["id"], event, DeliveryStatus.PENDING, clock.now())
    other_event = await record_event(client, clock, merchants["acme"])
    delivered = await add_delivery(client, doomed["id"], other_event, DeliveryStatus.DELIVERED, clock.now())
    elsewhere = await add_delivery(client, kept["id"], event, DeliveryStatus.PENDING, clock.now())

    response = await client.delete(f"{ENDPOINTS}/{doomed['id']}", headers=keyed())

    assert (response.status_code, response.content) == (204, b"")
    assert (await client.get(f"{ENDPOINTS}/{doomed['id']}", headers=ACME)).status_code == 404
    assert [item["id"] for item in (await client.get(ENDPOINTS, headers=ACME)).json()["items"]] == [kept["id"]]
    states = await delivery_states(client)
    assert states[pending] == (DeliveryStatus.CANCELLED, None)
    assert states[delivered][0] is DeliveryStatus.DELIVERED
    assert states[elsewhere][0] is DeliveryStatus.PENDING
    again = await client.delete(f"{ENDPOINTS}/{doomed['id']}", headers=keyed())
    assert again.status_code == 404


@ON_BOTH_DATABASES
async def test_rotation_returns_a_new_secret_and_keeps_the_old_one_for_the_grace(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await seed_merchants(client)
    created = await create_endpoint(client)
    path = f"{ENDPOINTS}/{created['id']}"

    rotated = await client.post(f"{path}/rotate-secret", headers=keyed())  # no body: a day of grace
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["secret"] != created["secret"]
    assert len(secret_key(new["secret"])) == 32
    assert new["previousSecretExpiresAt"].startswith((clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S"))
    assert await stored_secrets(store) == (new["secret"], created["secret"])
    assert (await client.get(f"{path}/secret", headers=ACME)).json() == new

    clock.advance(86_401)
    assert (await client.get(f"{path}/secret", headers=ACME)).json()["previousSecretExpiresAt"] is None
    short = (await client.post(f"{path}/rotate-secret", json={"graceSeconds": 60}, headers=keyed())).json()
    assert short["previousSecretExpiresAt"].startswith((clock.now() + timedelta(seconds=60)).isoformat()[:19])
    at_once = (await client.post(f"{path}/rotate-secret", json={"graceSeconds": 0}, headers=keyed())).json()
    assert at_once["previousSecretExpiresAt"] is None
    assert await stored_secrets(store) == (at_once["secret"], None)


@pytest.mark.parametrize("grace", [-1, 604_801, "60", 1.5])
async def test_a_grace_outside_0_to_7_days_is_refused_and_the_secret_kept(
    client: Client, store: Store, grace: object
) -> None:
    await seed_merchants(client)
    created = await create_endpoint(client)

    response = await client.post(
        f"{ENDPOINTS}/{created['id']}/rotate-secret", json={"graceSeconds": grace}, headers=keyed()
    )

    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_FAILED")
    assert (await stored_secrets(store))[0] == created["secret"]


async def test_a_post_replayed_with_its_idempotency_key_gets_the_first_answer_and_changes_nothing(
    client: Client, store: Store
) -> None:
    await seed_merchants(client)
    headers = keyed()
    body = {"url": "https://shop.example/hooks"}
    first = await client.post(ENDPOINTS, json=body, headers=headers)
    replay = await client.post(ENDPOINTS, json=body, headers=headers)
    reused = await client.post(ENDPOINTS, json={"url": "https://other.example"}, headers=headers)

    assert first.status_code == 201
    assert (replay.status_code, replay.content, replay.headers["idempotent-replayed"]) == (201, first.content, "true")
    assert reused.status_code == 422
    assert await store.count("payguard_webhook_endpoint") == 1

    rotate = keyed(key="rotate-1")
    path = f"{ENDPOINTS}/{first.json()['id']}/rotate-secret"
    rotated = await client.post(path, json={"graceSeconds": 10}, headers=rotate)
    again = await client.post(path, json={"graceSeconds": 10}, headers=rotate)
    assert again.content == rotated.content
    assert (await stored_secrets(store))[0] == rotated.json()["secret"]


@ON_BOTH_DATABASES
async def test_disabling_an_endpoint_cancels_its_pending_deliveries_and_tells_the_merchant(
    client: Client, store: Store, clock: ManualClock
) -> None:
    merchants = await seed_merchants(client)
    created = await create_endpoint(client)
    event = await record_event(client, clock, merchants["acme"])
    pending = await add_delivery(client, created["id"], event, DeliveryStatus.PENDING, clock.now())
    clock.advance(5)

    async with payguard_of(client.app).db_session() as db:
        endpoint = await db.get_one(WebhookEndpoint, uuid.UUID(created["id"]))
        await disable_endpoint(db, clock, endpoint, "The endpoint answered 410 Gone.")
        await db.commit()

    shown = (await client.get(f"{ENDPOINTS}/{created['id']}", headers=ACME)).json()
    assert (shown["enabled"], shown["disabledReason"]) == (False, "The endpoint answered 410 Gone.")
    assert (await delivery_states(client))[pending] == (DeliveryStatus.CANCELLED, None)
    events = (await client.get(EVENTS, params={"type": "webhook_endpoint.disabled"}, headers=ACME)).json()["items"]
    assert len(events) == 1
    assert events[0]["subjectId"] == created["id"]
    assert events[0]["data"]["disabledReason"] == "The endpoint answered 410 Gone."
    assert "secret" not in events[0]["data"]
