"""The merchant API's events and event types, and the purge of events past their retention."""

from __future__ import annotations

import uuid
from datetime import timedelta

from litestar_payguard.jobs import purge_events
from litestar_payguard.models import AttemptTrigger, DeliveryStatus, WebhookAttempt
from litestar_payguard.services.webhooks import EVENT_TYPES, purge_old_events
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ON_BOTH_DATABASES, Client, Store, payguard_of
from tests.integration.webhooks.outbound import (
    ACME,
    EVENTS,
    GLOBEX,
    add_delivery,
    create_endpoint,
    delivery_states,
    keyed,
    record_event,
    seed_merchants,
)

PAYMENTS = "/payguard/v1/payments"
RETENTION = timedelta(days=30)  # PayGuardConfig.event_retention_days


async def create_payment(client: Client) -> dict[str, object]:
    body = {
        "orderId": "order-1",
        "bundleId": f"bundle-{uuid.uuid4().hex[:6]}",
        "customerId": "cust-1",
        "amount": 5000,
        "currency": "INR",
        "method": "upi",
        "vpa": "success@upi",
    }
    response = await client.post(PAYMENTS, json=body, headers=keyed())
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_event_types_are_listed_with_descriptions_and_examples(client: Client, store: Store) -> None:
    await seed_merchants(client)
    response = await client.get("/payguard/v1/event-types", headers=ACME)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["type"] for item in items] == [info.type for info in EVENT_TYPES]
    succeeded = next(item for item in items if item["type"] == "payment.succeeded")
    assert succeeded["example"]["status"] == "succeeded"
    assert {"id", "amount", "currency", "createdAt"} <= succeeded["example"].keys()
    assert all(item["description"] for item in items)
    assert (await client.get("/payguard/v1/event-types")).status_code == 401


@ON_BOTH_DATABASES
async def test_an_event_carries_the_snapshot_the_outbox_stored_and_only_its_merchant_sees_it(
    client: Client, store: Store
) -> None:
    await seed_merchants(client)
    payment = await create_payment(client)

    page = (await client.get(EVENTS, headers=ACME)).json()
    assert [item["type"] for item in page["items"]] == ["payment.created"]
    event = page["items"][0]
    assert event["subjectId"] == payment["id"]
    assert event["data"] == payment
    assert event["timestamp"].startswith("2026-03-01T12:00:00")
    one = await client.get(f"{EVENTS}/{event['id']}", headers=ACME)
    assert one.json() == event

    assert (await client.get(EVENTS, headers=GLOBEX)).json()["items"] == []
    for path in (f"{EVENTS}/{event['id']}", f"{EVENTS}/{uuid.uuid4()}", f"{EVENTS}/nope"):
        theirs = await client.get(path, headers=GLOBEX)
        assert (theirs.status_code, theirs.json()["code"]) == (404, "EVENT_NOT_FOUND")


async def test_the_operators_events_are_nobodys(client: Client, store: Store, clock: ManualClock) -> None:
    await seed_merchants(client)
    operator = await record_event(client, clock, None, "payguard.cleanup.large")

    assert (await client.get(EVENTS, headers=ACME)).json()["items"] == []
    assert (await client.get(f"{EVENTS}/{operator}", headers=ACME)).status_code == 404


@ON_BOTH_DATABASES
async def test_events_are_filtered_by_type_and_time_and_paged_newest_first(
    client: Client, store: Store, clock: ManualClock
) -> None:
    merchants = await seed_merchants(client)
    acme = merchants["acme"]
    written = []
    for event_type in ("payment.created", "refund.created", "refund.processed", "session.created"):
        written.append(str(await record_event(client, clock, acme, event_type)))
        clock.advance(60)
    await record_event(client, clock, merchants["globex"], "refund.created")

    async def listed(**params: object) -> list[str]:
        response = await client.get(EVENTS, params=params, headers=ACME)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await listed() == written[::-1]
    assert await listed(type="refund.created") == [written[1]]
    assert await listed(type="refund.*") == [written[2], written[1]]
    assert await listed(type="webhook.*") == []
    assert await listed(createdFrom="2026-03-01T12:01:00Z", createdTo="2026-03-01T12:03:00Z") == [
        written[2],
        written[1],
    ]
    first = (await client.get(EVENTS, params={"limit": 3}, headers=ACME)).json()
    rest = (await client.get(EVENTS, params={"limit": 3, "cursor": first["nextCursor"]}, headers=ACME)).json()
    assert [item["id"] for item in first["items"] + rest["items"]] == written[::-1]
    assert rest["nextCursor"] is None


async def test_bad_filters_are_refused_with_their_codes(client: Client, store: Store) -> None:
    await seed_merchants(client)
    for params, code in (
        ({"createdFrom": "2026-03-01T12:00:00"}, "VALIDATION_FAILED"),  # no UTC offset
        ({"createdTo": "yesterday"}, "VALIDATION_FAILED"),
        ({"type": "Payment Created"}, "VALIDATION_FAILED"),
        ({"limit": 0}, "VALIDATION_FAILED"),
        ({"cursor": "bm9wZQ"}, "INVALID_CURSOR"),
    ):
        response = await client.get(EVENTS, params=params, headers=ACME)
        assert (response.status_code, response.json()["code"]) == (422, code), params


@ON_BOTH_DATABASES
async def test_the_purge_deletes_events_past_the_retention_with_their_deliveries_and_attempts_in_batches(
    client: Client, store: Store, clock: ManualClock
) -> None:
    merchants = await seed_merchants(client)
    endpoint = await create_endpoint(client)
    old = [await record_event(client, clock, merchants["acme"]) for _ in range(3)]
    operator = await record_event(client, clock, None, "payguard.cleanup.large")
    failed = DeliveryStatus.FAILED
    deliveries = [await add_delivery(client, endpoint["id"], event, failed, clock.now()) for event in old]
    async with payguard_of(client.app).db_session() as db:
        for number in (1, 2):
            db.add(
                WebhookAttempt(
                    delivery_id=deliveries[0], number=number, trigger=AttemptTrigger.SCHEDULED, started_at=clock.now()
                )
            )
        await db.commit()
    clock.advance((RETENTION - timedelta(hours=1)).total_seconds())
    recent = await record_event(client, clock, merchants["acme"])
    kept = await add_delivery(client, endpoint["id"], recent, DeliveryStatus.PENDING, clock.now())

    async with payguard_of(client.app).db_session() as db:  # not yet 30 days old: nothing goes
        assert await purge_old_events(db, now=clock.now(), retention=RETENTION, batch_size=2) == 0
    clock.advance(timedelta(hours=2).total_seconds())
    async with payguard_of(client.app).db_session() as db:
        assert await purge_old_events(db, now=clock.now(), retention=RETENTION, batch_size=2) == 2
        await db.commit()
    assert await store.count("payguard_event") == 3

    assert await purge_events({"payguard": payguard_of(client.app)}) == 2  # the cron job: batches until done

    remaining = (await client.get(EVENTS, headers=ACME)).json()["items"]
    assert [item["id"] for item in remaining] == [str(recent)]
    assert await store.count("payguard_event") == 1
    assert await store.count("payguard_webhook_attempt") == 0
    assert list(await delivery_states(client)) == [kept]
    assert (await client.get(f"{EVENTS}/{old[0]}", headers=ACME)).status_code == 404
    assert operator not in {item["id"] for item in remaining}
