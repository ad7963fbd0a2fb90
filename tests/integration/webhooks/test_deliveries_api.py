"""The delivery log and sending again: manual retry, recovery, a test event, with a real worker and receiver."""

from __future__ import annotations

from datetime import timedelta

from litestar_payguard.clock import SystemClock
from litestar_payguard.models import DeliveryStatus
from tests.integration.conftest import Client, ClientFactory
from tests.integration.webhooks.outbound import ACME, GLOBEX, create_endpoint, keyed, record_event, seed_merchants
from tests.integration.webhooks.receiver import Answer, receiver
from tests.support import eventually

CLOCK = SystemClock()
DELIVERIES = "/payguard/v1/webhook-deliveries"
ENDPOINTS = "/payguard/v1/webhook-endpoints"
ONE_TRY = {
    "run_worker_in_app": True,
    "clock": CLOCK,
    "webhook_sweep_seconds": 1,
    "webhook_test_retry_schedule_seconds": (),  # one attempt, then failed
}


async def listed(client: object, **query: str) -> list[dict[str, object]]:
    response = await client.get(DELIVERIES, params=query, headers=ACME)  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_a_failed_delivery_is_retried_by_hand_and_a_failed_manual_attempt_stays_failed(
    client_for: ClientFactory,
) -> None:
    async with client_for(**ONE_TRY) as client:
        merchants = await seed_merchants(client)
        with receiver(Answer(500), Answer(500), Answer(204)) as rx:
            endpoint = await create_endpoint(client, url=rx.url)
            await record_event(client, CLOCK, merchants["acme"], "payment.succeeded")

            async def failed() -> list[dict[str, object]]:
                return await listed(client, status="failed")

            [delivery] = await eventually(failed)
            assert delivery["attempts"] == 1
            assert delivery["endpointId"] == endpoint["id"]

            retried = await client.post(f"{DELIVERIES}/{delivery['id']}/retry", headers=keyed())
            assert retried.status_code == 202, retried.text
            await eventually(lambda: _attempts(client, delivery["id"], 2))
            detail = (await client.get(f"{DELIVERIES}/{delivery['id']}", headers=ACME)).json()
            assert detail["status"] == "failed"  # a manual attempt that fails is not retried by itself
            assert [(a["trigger"], a["responseStatus"]) for a in detail["attemptLog"]] == [
                ("scheduled", 500),
                ("manual", 500),
            ]

            await client.post(f"{DELIVERIES}/{delivery['id']}/retry", headers=keyed())
            await eventually(lambda: _attempts(client, delivery["id"], 3))
            assert (await client.get(f"{DELIVERIES}/{delivery['id']}", headers=ACME)).json()["status"] == "delivered"
            again = await client.post(f"{DELIVERIES}/{delivery['id']}/retry", headers=keyed())
            assert (again.status_code, again.json()["code"]) == (409, "WEBHOOK_DELIVERY_NOT_RETRYABLE")
            assert len(rx.received) == 3


async def _attempts(client: object, delivery_id: object, count: int) -> bool:
    detail = (await client.get(f"{DELIVERIES}/{delivery_id}", headers=ACME)).json()  # type: ignore[attr-defined]
    return len(detail["attemptLog"]) >= count and detail["status"] != DeliveryStatus.PENDING.value


async def test_recover_queues_the_failed_deliveries_of_the_range_again(client_for: ClientFactory) -> None:
    async with client_for(**ONE_TRY) as client:
        merchants = await seed_merchants(client)
        with receiver(Answer(503), Answer(503), Answer(503), Answer(204)) as rx:
            endpoint = await create_endpoint(client, url=rx.url)
            start = CLOCK.now()
            for kind in ("payment.succeeded", "refund.processed", "session.created"):
                await record_event(client, CLOCK, merchants["acme"], kind)

            async def all_failed() -> bool:
                return len(await listed(client, status="failed")) == 3

            await eventually(all_failed)
            since = (start - timedelta(seconds=1)).isoformat()
            response = await client.post(
                f"{ENDPOINTS}/{endpoint['id']}/recover", json={"since": since}, headers=keyed()
            )
            assert (response.status_code, response.json()) == (202, {"queued": 3})

            async def all_delivered() -> bool:
                return len(await listed(client, status="delivered")) == 3

            await eventually(all_delivered)
            assert sorted(rx.by_id().values()) == [2, 2, 2]  # each id twice: the failure, then the recovery


async def test_a_recovery_whose_range_ends_before_it_starts_is_refused(client: Client) -> None:
    await seed_merchants(client)
    endpoint = await create_endpoint(client)
    since = CLOCK.now()

    for until in (since, since - timedelta(seconds=1)):
        body = {"since": since.isoformat(), "until": until.isoformat()}
        refused = await client.post(f"{ENDPOINTS}/{endpoint['id']}/recover", json=body, headers=keyed())
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "VALIDATION_FAILED"
        assert refused.json()["errors"][0]["field"] == "until"


async def test_a_test_event_reaches_its_endpoint_only(client_for: ClientFactory) -> None:
    async with client_for(**ONE_TRY) as client:
        await seed_merchants(client)
        with receiver() as rx, receiver() as other:
            endpoint = await create_endpoint(client, url=rx.url, eventTypes=["refund.*"])
            await create_endpoint(client, url=other.url)
            response = await client.post(f"{ENDPOINTS}/{endpoint['id']}/test", headers=keyed())
            assert response.status_code == 202, response.text

            async def arrived() -> bool:
                return len(rx.received) == 1

            await eventually(arrived)
            assert rx.received[0].headers["webhook-id"] == response.json()["eventId"]
            assert b'"type":"webhook.test"' in rx.received[0].body
            assert other.received == []


async def test_the_log_filters_and_hides_other_merchants(client_for: ClientFactory) -> None:
    async with client_for(**ONE_TRY) as client:
        merchants = await seed_merchants(client)
        with receiver() as rx:
            first = await create_endpoint(client, url=rx.url)
            second = await create_endpoint(client, url=rx.url, eventTypes=["refund.*"])
            await record_event(client, CLOCK, merchants["acme"], "refund.processed")
            await record_event(client, CLOCK, merchants["acme"], "payment.succeeded")

            async def three() -> bool:
                return len(await listed(client, status="delivered")) == 3

            await eventually(three)
            assert len(await listed(client, endpointId=second["id"])) == 1
            assert len(await listed(client, endpointId=first["id"])) == 2
            assert len(await listed(client, eventType="refund.processed")) == 2
            assert len(await listed(client, limit="1")) == 1
            page = (await client.get(DELIVERIES, params={"limit": 2}, headers=ACME)).json()
            rest = (await client.get(DELIVERIES, params={"cursor": page["nextCursor"]}, headers=ACME)).json()
            assert len(page["items"]) + len(rest["items"]) == 3
            some = page["items"][0]["id"]
            assert (await client.get(f"{DELIVERIES}/{some}", headers=GLOBEX)).status_code == 404
            assert (await client.get(DELIVERIES, headers=GLOBEX)).json()["items"] == []
            assert (await client.post(f"{DELIVERIES}/{some}/retry", headers=keyed(GLOBEX))).status_code == 404
            missing = await client.post(f"{ENDPOINTS}/{first['id']}/test", headers=keyed(GLOBEX))
            assert missing.status_code == 404
