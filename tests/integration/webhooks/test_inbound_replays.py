"""Gateway webhooks are kept once per signed body, whatever unsigned event id comes with them; ids are
length-checked; events older than the configured window are refused. A refused webhook stores nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from litestar_payguard import Price, RazorpayGateway
from litestar_payguard.exceptions import InvalidSignatureError
from litestar_payguard.gateways.razorpay_webhooks import webhook_signature
from litestar_payguard.testing import ManualClock
from litestar_payguard.testing.razorpay import FakeRazorpay
from tests.hostapp import set_price
from tests.integration.conftest import ALICE, Client, ClientFactory, Store, create_session
from tests.integration.test_razorpay_flow import HOOK_SECRET, HOOKS, SESSIONS, fake, razorpay

__all__ = ("fake", "razorpay")  # the Razorpay fixtures, shared with the flow tests


async def paid_checkout(client: Client, fake: FakeRazorpay) -> tuple[str, str]:
    """A checkout whose customer paid in Razorpay (captured): ``(our payment id, Razorpay's payment id)``."""
    bundle = f"rupees-{uuid.uuid4().hex[:8]}"
    set_price(client.app, bundle, Price(2500, "INR"))
    session = await create_session(client, bundleId=bundle, amount=2500, currency="INR")
    order = await client.post(f"{SESSIONS}/{session['id']}/order", headers=ALICE)
    assert order.status_code == 200, order.text
    return session["payment"]["id"], fake.pay(order.json()["gatewayOrderId"], outcome="captured")


async def payment_row(store: Store, payment_id: str) -> dict[str, Any]:
    (row,) = await store.rows("SELECT * FROM payguard_payment WHERE id = :id", id=payment_id)
    return row


async def test_a_genuine_delivery_replayed_with_a_new_event_id_is_a_duplicate(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        payment_id, gateway_payment_id = await paid_checkout(client, fake)
        headers, body = fake.webhook("payment.captured", gateway_payment_id)
        first = await client.post(HOOKS, content=body, headers=headers)
        after_first = await payment_row(store, payment_id)
        replays = [
            await client.post(HOOKS, content=body, headers={**headers, "X-Razorpay-Event-Id": f"evt_replay_{n}"})
            for n in range(3)
        ]

    assert (first.status_code, first.json()["outcome"], first.json()["duplicate"]) == (200, "queued", False)
    for replay in replays:
        assert (replay.status_code, replay.json()["outcome"], replay.json()["duplicate"]) == (200, "duplicate", True)
    stored = await store.rows("SELECT event_id FROM payguard_gateway_event")
    assert stored == [{"event_id": headers["X-Razorpay-Event-Id"]}]
    assert await payment_row(store, payment_id) == after_first  # applied once


@pytest.mark.parametrize(
    "event_id", ["e" * 256, "e" * 10_000, "évènement", "evt\x7f", "evt 1"], ids=["256", "10k", "latin1", "del", "space"]
)
async def test_an_event_id_a_gateway_never_sends_is_refused_and_not_echoed(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, event_id: str
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        payment_id, gateway_payment_id = await paid_checkout(client, fake)
        before = await payment_row(store, payment_id)
        headers, body = fake.webhook("payment.captured", gateway_payment_id)
        raw = [(name.encode(), value.encode()) for name, value in headers.items() if name != "X-Razorpay-Event-Id"]
        response = await client.post(
            HOOKS, content=body, headers=[*raw, (b"x-razorpay-event-id", event_id.encode("latin-1"))]
        )

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "INVALID_EVENT_ID"
    assert event_id not in response.text
    assert "eventId" not in response.json()
    assert await store.count("payguard_gateway_event") == 0
    assert await payment_row(store, payment_id) == before


async def test_an_event_id_of_255_characters_is_kept_as_sent(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        _, gateway_payment_id = await paid_checkout(client, fake)
        headers, body = fake.webhook("payment.captured", gateway_payment_id)
        response = await client.post(HOOKS, content=body, headers={**headers, "X-Razorpay-Event-Id": "e" * 255})

    assert (response.status_code, response.json()["eventId"]) == (200, "e" * 255)
    assert await store.scalar("SELECT event_id FROM payguard_gateway_event") == "e" * 255


@pytest.mark.parametrize(("age", "accepted"), [(3600, True), (3600 + 1, False), (30 * 86_400, False)])
async def test_an_event_older_than_the_window_is_refused_and_changes_nothing(
    client_for: ClientFactory,
    fake: FakeRazorpay,
    razorpay: RazorpayGateway,
    store: Store,
    clock: ManualClock,
    age: int,
    accepted: bool,
) -> None:
    async with client_for(test_gateway=razorpay, gateway_webhook_max_age_seconds=3600) as client:
        payment_id, gateway_payment_id = await paid_checkout(client, fake)
        before = await payment_row(store, payment_id)
        created_at = int(clock.now().timestamp()) - age
        headers, body = fake.webhook("payment.captured", gateway_payment_id, created_at=created_at)
        response = await client.post(HOOKS, content=body, headers=headers)

    if accepted:
        assert (response.status_code, response.json()["outcome"]) == (200, "queued"), response.text
        assert await store.count("payguard_gateway_event") == 1
        return
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["maxAgeSeconds"]) == ("WEBHOOK_TOO_OLD", 3600)
    assert await store.count("payguard_gateway_event") == 0
    assert await payment_row(store, payment_id) == before


async def test_the_default_window_outlasts_razorpays_day_of_retries(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, clock: ManualClock
) -> None:
    now = int(clock.now().timestamp())
    async with client_for(test_gateway=razorpay) as client:
        _, gateway_payment_id = await paid_checkout(client, fake)
        answers = []
        for age in (86_400 + 3600, 7 * 86_400):  # Razorpay's last retry, late; a week-old capture
            headers, body = fake.webhook("payment.captured", gateway_payment_id, created_at=now - age)
            answers.append(await client.post(HOOKS, content=body, headers=headers))

    assert [answer.status_code for answer in answers] == [200, 422]
    assert answers[1].json()["code"] == "WEBHOOK_TOO_OLD"
    assert await store.count("payguard_gateway_event") == 1


@pytest.mark.parametrize("created_at", [None, "1767225600", 1.5, 10**20, True])
def test_a_signed_body_without_a_creation_time_is_not_a_razorpay_event(
    razorpay: RazorpayGateway, created_at: object
) -> None:
    envelope: dict[str, Any] = {"entity": "event", "event": "payment.captured", "payload": {}}
    if created_at is not None:
        envelope["created_at"] = created_at
    body = json.dumps(envelope).encode()
    headers = {"X-Razorpay-Signature": webhook_signature(HOOK_SECRET, body), "X-Razorpay-Event-Id": "evt_1"}

    with pytest.raises(InvalidSignatureError, match="not a Razorpay event"):
        razorpay.parse_webhook(headers, body)
