"""payguard with the Razorpay adapter against a local server speaking Razorpay's API: payments, the checkout
signature, refunds, and inbound webhooks (signature, dedupe, ordering)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from saq.job import Status

from litestar_payguard import Price, RazorpayGateway, SystemClock
from litestar_payguard.gateways import OrderRequest, RefundRequest
from litestar_payguard.models import PaymentStatus, RefundStatus
from litestar_payguard.services.processing import RefundProcessor
from litestar_payguard.testing import ManualClock
from litestar_payguard.testing.razorpay import FakeRazorpay
from tests.hostapp import set_price
from tests.integration.conftest import ALICE, Client, ClientFactory, Store, create_session, payguard_of
from tests.integration.test_payments_api import (
    ACME,
    PAYMENTS,
    create_payment,
    keyed,
    payment_body,
    seed_merchants,
    settled,
)
from tests.support import eventually, work_off

KEY_ID, KEY_SECRET, HOOK_SECRET = "rzp_test_payguard", "key-secret-for-tests", "hook-secret-for-tests"
SESSIONS = "/payguard/sessions"
HOOKS = "/payguard/gateways/razorpay/webhooks"


@pytest.fixture
def fake() -> Iterator[FakeRazorpay]:
    with FakeRazorpay(KEY_ID, KEY_SECRET, HOOK_SECRET) as server:
        yield server


@pytest.fixture
def razorpay(fake: FakeRazorpay) -> RazorpayGateway:
    return RazorpayGateway(KEY_ID, KEY_SECRET, HOOK_SECRET, base_url=fake.url)


async def test_merchant_payments_go_through_razorpay_orders_and_are_captured_once(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay, run_worker_in_app=True, clock=SystemClock()) as client:
        await seed_merchants(client)
        paid = await create_payment(client, vpa="success@razorpay")
        declined = await create_payment(client, vpa="failure@razorpay")
        outcomes = [await settled(client, paid["id"]), await settled(client, declined["id"])]
        body = (await client.get(f"{PAYMENTS}/{paid['id']}", headers=ACME)).json()

    assert outcomes == ["succeeded", "failed"]
    assert fake.captures_by_receipt() == {paid["id"]: 1, declined["id"]: 0}
    order = fake.order(body["gatewayOrderId"])
    assert (order["receipt"], order["amount"], order["status"]) == (paid["id"], 5000, "paid")
    assert fake.payment(body["gatewayPaymentId"])["status"] == "captured"
    assert await store.scalar("SELECT failure_code FROM payguard_payment WHERE id = :id", id=declined["id"])


async def test_a_refund_reason_longer_than_razorpay_takes_is_cut_to_its_note_and_refunded(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    reason = "The customer returned the parcel unopened. " * 11  # 473 characters: our limit is 500
    async with client_for(test_gateway=razorpay) as client:
        await seed_merchants(client)
        payment = await create_payment(client, vpa="success@razorpay")
        await work_off(client.app)
        response = await client.post(
            f"{PAYMENTS}/{payment['id']}/refunds", json={"amount": 700, "reason": reason}, headers=keyed()
        )
        await work_off(client.app)
        refund = (await client.get(f"/payguard/v1/refunds/{response.json()['id']}", headers=ACME)).json()
        gateway_payment_id = await store.scalar(
            "SELECT gateway_payment_id FROM payguard_payment WHERE id = :id", id=payment["id"]
        )

    assert (refund["status"], refund["reason"]) == ("processed", reason)  # ours keeps the whole reason
    (at_gateway,) = fake.refunds(gateway_payment_id)
    assert at_gateway["notes"]["reason"] == reason[:256]


async def test_a_method_razorpay_cannot_start_from_a_server_is_refused_and_nothing_stored(
    client_for: ClientFactory, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        await seed_merchants(client)
        answers = [
            await client.post(PAYMENTS, json=payment_body(method=method, vpa=None), headers=keyed())
            for method in ("card", "netbanking", "wallet")
        ]

    for answer in answers:
        assert (answer.status_code, answer.json()["code"]) == (422, "METHOD_NOT_SUPPORTED"), answer.text
        assert answer.json()["supportedMethods"] == ["upi"]
    assert await store.count("payguard_payment") == 0
    assert await store.count("payguard_event") == 0


async def test_a_payment_the_gateway_never_answers_is_flagged_after_the_configured_steps(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, clock: ManualClock
) -> None:
    admin = {**ACME, "X-Role": "admin"}
    async with client_for(test_gateway=razorpay, gateway_max_attempts=3) as client:
        await seed_merchants(client)
        created = await create_payment(client, vpa="success@razorpay")
        fake.fail_next("create_order", times=100)  # Razorpay is down for this payment's whole life here
        steps = []
        for _ in range(5):
            steps.append(await work_off(client.app))
            clock.advance(3600)
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()

    assert steps == [1, 1, 1, 0, 0]  # three tries, then no more
    assert [(item["id"], item["status"]) for item in flagged] == [(created["id"], "processing")]
    assert "no answer 3 times" in flagged[0]["attentionReason"]
    assert await store.scalar("SELECT process_at FROM payguard_payment") is None
    assert fake.captures_by_receipt() == {}


async def test_a_refund_the_gateway_never_answers_flags_its_payment_and_is_still_retried(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, clock: ManualClock
) -> None:
    admin = {**ACME, "X-Role": "admin"}
    async with client_for(test_gateway=razorpay, gateway_max_attempts=2) as client:
        await seed_merchants(client)
        payment = await create_payment(client, vpa="success@razorpay")
        await work_off(client.app)
        response = await client.post(f"{PAYMENTS}/{payment['id']}/refunds", json={"amount": 700}, headers=keyed())
        fake.fail_next("payment_refunds", times=3)  # no answer to three tries
        for _ in range(3):
            await work_off(client.app)
            clock.advance(3600)
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()
        pending = (await client.get(f"/payguard/v1/refunds/{response.json()['id']}", headers=ACME)).json()
        await work_off(client.app)  # the gateway answers again
        refund = (await client.get(f"/payguard/v1/refunds/{response.json()['id']}", headers=ACME)).json()
        resolved = await client.post(f"/payguard/admin/payments/{payment['id']}/resolve", headers=admin)

    assert [(item["id"], item["status"]) for item in flagged] == [(payment["id"], "succeeded")]
    assert f"refund {response.json()['id']}" in flagged[0]["attentionReason"]
    assert pending["status"] == "pending"
    assert refund["status"] == "processed"
    assert (resolved.status_code, resolved.json()["status"]) == (200, "partially_refunded")
    assert await store.count("payguard_event", "type = 'payment.attention_required'") == 1  # flagged once


async def test_the_merchant_api_and_gateway_webhooks_answer_503_with_the_database_down(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway
) -> None:
    """A 503 makes the merchant retry and Razorpay redeliver its webhook; a 2xx, 4xx or 500 would lose it."""
    order = await razorpay.create_order(OrderRequest(uuid.uuid4(), 2500, "INR", "order"))
    headers, body = fake.webhook("payment.captured", fake.pay(order.order_id, outcome="captured"))
    async with client_for(
        test_gateway=razorpay, database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none"
    ) as client:
        create = await client.post(PAYMENTS, json=payment_body(), headers=keyed())
        listing = await client.get(PAYMENTS, headers=ACME)
        news = await client.post(HOOKS, content=body, headers=headers)

    for answer in (create, listing, news):
        assert (answer.status_code, answer.json()["code"]) == (503, "SERVICE_UNAVAILABLE"), answer.text
        assert answer.headers["retry-after"] == "5"


async def _rupee_session(client: Client, amount: int = 2500) -> dict[str, Any]:
    """A session for a bundle of its own, which the host prices at ``amount`` paise."""
    bundle = f"rupees-{uuid.uuid4().hex[:8]}"
    set_price(client.app, bundle, Price(amount, "INR"))
    return await create_session(client, bundleId=bundle, amount=amount, currency="INR")


async def _checkout(client: Client) -> tuple[dict[str, Any], str]:
    session = await _rupee_session(client)
    order = await client.post(f"{SESSIONS}/{session['id']}/order", headers=ALICE)
    again = await client.post(f"{SESSIONS}/{session['id']}/order", headers=ALICE)
    assert order.status_code == 200, order.text
    assert again.json() == order.json()
    return session, str(order.json()["gatewayOrderId"])


async def test_the_checkout_signature_is_verified_and_a_bad_one_changes_nothing(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        session, order_id = await _checkout(client)
        payment_id = fake.pay(order_id)  # the customer pays in Razorpay Checkout (authorized)
        other_order = (await _checkout(client))[1]  # another session, another order
        url = f"{SESSIONS}/{session['id']}/complete"
        events = await store.count("payguard_event")
        forged = await client.post(url, json={"gatewayPaymentId": payment_id, "signature": "0" * 64}, headers=ALICE)
        unsigned = await client.post(url, json={"gatewayPaymentId": payment_id}, headers=ALICE)
        other = fake.checkout_signature(other_order, payment_id)  # genuine, but for another order
        replayed = await client.post(url, json={"gatewayPaymentId": payment_id, "signature": other}, headers=ALICE)
        unchanged = await store.count("payguard_event")
        signature = fake.checkout_signature(order_id, payment_id)
        good = await client.post(url, json={"gatewayPaymentId": payment_id, "signature": signature}, headers=ALICE)
        await work_off(client.app)
        final = (await client.get(f"{SESSIONS}/{session['id']}", headers=ALICE)).json()

    for refused in (forged, unsigned, replayed):
        assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_SIGNATURE")
    assert unchanged == events
    assert (good.status_code, good.json()["payment"]["status"]) == (200, "processing")
    assert (final["status"], final["payment"]["status"]) == ("completed", "succeeded")
    assert fake.payment(payment_id)["status"] == "captured"
    assert fake.capture_count(order_id) == 1


async def test_a_refund_the_gateway_reports_pending_then_failed_releases_its_amount(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, clock: ManualClock
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        await seed_merchants(client)
        payment = await create_payment(client, vpa="success@razorpay")
        await work_off(client.app)
        fake.refunds_pending = True
        refund = (await client.post(f"{PAYMENTS}/{payment['id']}/refunds", json={}, headers=keyed())).json()
        await work_off(client.app)
        waiting = (await client.get(f"/payguard/v1/refunds/{refund['id']}", headers=ACME)).json()
        blocked = await client.post(f"{PAYMENTS}/{payment['id']}/refunds", json={"amount": 1}, headers=keyed())
        fake.settle_refund(waiting["gatewayRefundId"], "failed")
        clock.advance(5)  # gateway_poll_seconds
        await work_off(client.app)
        failed = (await client.get(f"/payguard/v1/refunds/{refund['id']}", headers=ACME)).json()
        released = (await client.get(f"{PAYMENTS}/{payment['id']}", headers=ACME)).json()
        fake.refunds_pending = False
        retry = await client.post(f"{PAYMENTS}/{payment['id']}/refunds", json={}, headers=keyed())
        await work_off(client.app)
        final = (await client.get(f"{PAYMENTS}/{payment['id']}", headers=ACME)).json()

    assert (waiting["status"], waiting["gatewayRefundId"] is not None) == ("pending", True)
    assert (blocked.status_code, blocked.json()["code"]) == (422, "REFUND_EXCEEDS_AVAILABLE")
    assert failed["status"] == "failed"
    assert (released["status"], released["amountRefunding"], released["amountRefunded"]) == ("succeeded", 0, 0)
    assert retry.json()["amount"] == 5000
    assert (final["status"], final["amountRefunded"]) == ("refunded", 5000)


async def test_refund_events_for_a_refunded_or_closed_payment_never_wait_forever(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    admin = {**ACME, "X-Role": "admin"}
    async with client_for(test_gateway=razorpay) as client:
        await seed_merchants(client)
        payment = await create_payment(client, vpa="success@razorpay")
        await work_off(client.app)
        await client.post(f"{PAYMENTS}/{payment['id']}/refunds", json={}, headers=keyed())
        await work_off(client.app)  # refunded in full by payguard's own refund
        gateway_payment_id = await store.scalar(
            "SELECT gateway_payment_id FROM payguard_payment WHERE id = :id", id=payment["id"]
        )
        (ours,) = fake.refunds(gateway_payment_id)
        headers, body = fake.webhook("refund.processed", gateway_payment_id, ours["id"])
        own_news = await client.post(HOOKS, content=body, headers=headers)  # Razorpay's news of that refund

        session, order_id = await _checkout(client)
        await client.post(f"{SESSIONS}/{session['id']}/cancel", headers=ALICE)
        late = fake.pay(order_id, outcome="captured")  # paid after payguard closed the payment ...
        await razorpay.refund(  # ... and given back from Razorpay's dashboard
            RefundRequest(uuid.uuid4(), uuid.UUID(session["payment"]["id"]), late, 2500, "INR", "dashboard")
        )
        headers, body = fake.webhook("refund.processed", late, fake.refunds(late)[0]["id"])
        back_news = await client.post(HOOKS, content=body, headers=headers)
        final = (await client.get(f"{PAYMENTS}/{payment['id']}", headers=ACME)).json()
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()

    assert own_news.json()["outcome"] == "stale"
    assert back_news.json()["outcome"] == "stale"
    assert (final["status"], final["amountRefunded"]) == ("refunded", 5000)
    assert await store.count("payguard_gateway_event", "applied_at IS NULL") == 0
    assert flagged == []


async def test_a_dashboard_refund_that_takes_a_pending_refunds_money_is_recorded_not_lost(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    admin = {**ACME, "X-Role": "admin"}
    async with client_for(test_gateway=razorpay) as client:
        await seed_merchants(client)
        payment = await create_payment(client, vpa="success@razorpay")  # 5000
        await work_off(client.app)
        refunds = f"{PAYMENTS}/{payment['id']}/refunds"
        await client.post(refunds, json={"amount": 3000}, headers=keyed())
        await work_off(client.app)  # 3000 refunded
        pending = (await client.post(refunds, json={"amount": 2000}, headers=keyed())).json()  # not processed yet
        gateway_payment_id = await store.scalar(
            "SELECT gateway_payment_id FROM payguard_payment WHERE id = :id", id=payment["id"]
        )
        # Meanwhile someone refunds the other 2000 from Razorpay's dashboard.
        await razorpay.refund(
            RefundRequest(uuid.uuid4(), uuid.UUID(payment["id"]), gateway_payment_id, 2000, "INR", "dashboard")
        )
        dashboard = fake.refunds(gateway_payment_id)[0]["id"]
        headers, body = fake.webhook("refund.processed", gateway_payment_id, dashboard)
        news = await client.post(HOOKS, content=body, headers=headers)
        await work_off(client.app)  # our 2000 is refused by Razorpay: the dashboard refund took that money
        ours = (await client.get(f"/payguard/v1/refunds/{pending['id']}", headers=ACME)).json()
        final = (await client.get(f"{PAYMENTS}/{payment['id']}", headers=ACME)).json()
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()

    assert news.json()["outcome"] == "deferred"
    assert ours["status"] == "failed"
    assert (final["status"], final["amountRefunded"], final["amountRefunding"]) == ("refunded", 5000, 0)
    assert flagged == []
    recorded = await store.rows("SELECT amount, gateway_refund_id FROM payguard_refund WHERE status = 'processed'")
    assert sorted(row["amount"] for row in recorded) == [2000, 3000]
    assert dashboard in {row["gateway_refund_id"] for row in recorded}
    assert await store.count("payguard_gateway_event", "applied_at IS NULL") == 0


async def test_webhooks_are_verified_on_the_raw_body_and_nothing_is_stored_without_a_valid_signature(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        _, order_id = await _checkout(client)
        headers, body = fake.webhook("payment.captured", fake.pay(order_id, outcome="captured"))
        tampered = await client.post(HOOKS, content=body.replace(b"2500", b"1"), headers=headers)
        unsigned = await client.post(
            HOOKS, content=body, headers={k: v for k, v in headers.items() if k != "X-Razorpay-Signature"}
        )
        other_gateway = await client.post("/payguard/gateways/stripe/webhooks", content=body, headers=headers)

    assert (tampered.status_code, tampered.json()["code"]) == (400, "INVALID_SIGNATURE")
    assert (unsigned.status_code, unsigned.json()["code"]) == (400, "INVALID_SIGNATURE")
    assert (other_gateway.status_code, other_gateway.json()["code"]) == (404, "GATEWAY_NOT_FOUND")
    assert await store.count("payguard_gateway_event") == 0
    assert await store.scalar("SELECT status FROM payguard_payment") == "pending"


async def test_a_webhook_completes_a_checkout_whose_client_never_reported_and_is_deduplicated(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        session, order_id = await _checkout(client)
        payment_id = fake.pay(order_id, outcome="captured")  # paid, then the tab was closed
        headers, body = fake.webhook("payment.captured", payment_id)
        first = await client.post(HOOKS, content=body, headers=headers)
        second = await client.post(HOOKS, content=body, headers=headers)
        await work_off(client.app)
        final = (await client.get(f"{SESSIONS}/{session['id']}", headers=ALICE)).json()
        late_headers, late_body = fake.webhook("payment.failed", payment_id)
        late = await client.post(HOOKS, content=late_body, headers=late_headers)
        after_late = (await client.get(f"{SESSIONS}/{session['id']}", headers=ALICE)).json()

    assert (first.status_code, first.json()["outcome"], first.json()["duplicate"]) == (200, "queued", False)
    assert (second.status_code, second.json()["duplicate"]) == (200, True)
    assert await store.count("payguard_gateway_event") == 2  # the captured event once, the late failure once
    assert (final["status"], final["payment"]["status"]) == ("completed", "succeeded")
    assert late.json()["outcome"] == "stale"
    assert after_late["payment"]["status"] == "succeeded"  # a late "failed" never overwrites a success
    assert fake.capture_count(order_id) == 1  # Checkout captured it; payguard did not capture it again
    assert await store.count("payguard_event", "type = 'payment.succeeded'") == 1


async def test_a_declined_try_in_checkout_does_not_end_the_attempt_the_customer_then_pays(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        session, order_id = await _checkout(client)
        declined = fake.pay(order_id, outcome="failed")  # the first card is declined in Razorpay Checkout ...
        headers, body = fake.webhook("payment.failed", declined)
        news = await client.post(HOOKS, content=body, headers=headers)
        stored = await store.rows("SELECT status, process_at, gateway_payment_id FROM payguard_payment")
        await work_off(client.app)
        during = (await client.get(f"{SESSIONS}/{session['id']}", headers=ALICE)).json()
        paid = fake.pay(order_id)  # ... the customer tries another card on the same order, and it goes through
        signature = fake.checkout_signature(order_id, paid)
        complete = await client.post(
            f"{SESSIONS}/{session['id']}/complete",
            json={"gatewayPaymentId": paid, "signature": signature},
            headers=ALICE,
        )
        await work_off(client.app)
        final = (await client.get(f"{SESSIONS}/{session['id']}", headers=ALICE)).json()

    assert news.json()["outcome"] == "ignored"
    assert [(row["status"], row["process_at"], row["gateway_payment_id"]) for row in stored] == [
        ("pending", None, None)
    ]
    assert (during["status"], during["attempt"], during["payment"]["status"]) == ("active", 1, "pending")
    assert complete.status_code == 200, complete.text
    assert (final["status"], final["payment"]["status"], final["payment"]["gatewayPaymentId"]) == (
        "completed",
        "succeeded",
        paid,
    )
    assert fake.capture_count(order_id) == 1


async def test_a_refund_event_arriving_before_its_payments_success_is_applied_after_it(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        session, order_id = await _checkout(client)
        payment_id = fake.pay(order_id, outcome="captured")
        # Refunded from the Razorpay dashboard before payguard heard of the capture.
        await razorpay.refund(
            RefundRequest(
                refund_id=uuid.uuid4(),
                payment_id=uuid.UUID(session["payment"]["id"]),
                gateway_payment_id=payment_id,
                amount=1000,
                currency="INR",
                idempotency_key="dashboard",
            )
        )
        refund_id = fake.refunds(payment_id)[0]["id"]
        headers, body = fake.webhook("refund.processed", refund_id=refund_id)
        early = await client.post(HOOKS, content=body, headers=headers)
        deferred = await store.count("payguard_gateway_event", "outcome = 'deferred' AND applied_at IS NULL")
        headers, body = fake.webhook("payment.captured", payment_id)
        await client.post(HOOKS, content=body, headers=headers)
        await work_off(client.app)
        final = (await client.get(f"{SESSIONS}/{session['id']}", headers=ALICE)).json()

    assert early.json()["outcome"] == "deferred"
    assert deferred == 1
    assert final["status"] == "completed"
    payment = (await store.rows("SELECT status, amount_refunded FROM payguard_payment"))[0]
    assert (payment["status"], payment["amount_refunded"]) == ("partially_refunded", 1000)
    refund = (await store.rows("SELECT status, amount, gateway_refund_id FROM payguard_refund"))[0]
    assert (refund["status"], refund["amount"], refund["gateway_refund_id"]) == ("processed", 1000, refund_id)
    assert await store.count("payguard_gateway_event", "applied_at IS NULL") == 0


async def test_money_captured_for_a_payment_payguard_closed_is_flagged_for_a_person_never_dropped(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    admin = {"X-Role": "admin"}
    async with client_for(test_gateway=razorpay) as client:
        session, order_id = await _checkout(client)
        await client.post(f"{SESSIONS}/{session['id']}/cancel", headers=ALICE)  # the customer gave up ...
        payment_id = fake.pay(order_id, outcome="captured")  # ... but the payment went through after all
        headers, body = fake.webhook("payment.captured", payment_id)
        news = await client.post(HOOKS, content=body, headers=headers)
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()
        retry = await client.post(
            f"/payguard/admin/payments/{session['payment']['id']}/retry-fulfilment", headers=admin
        )
        resolved = await client.post(f"/payguard/admin/payments/{session['payment']['id']}/resolve", headers=admin)
        after = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()

    assert news.json()["outcome"] == "attention"
    assert [(item["id"], item["status"]) for item in flagged] == [(session["payment"]["id"], "cancelled")]
    assert payment_id in flagged[0]["attentionReason"]
    assert (retry.status_code, retry.json()["code"]) == (409, "PAYMENT_NOT_FLAGGED")  # nothing to process
    assert (resolved.status_code, resolved.json()["needsAttention"]) == (200, False)
    assert after == []
    assert await store.event_types(session["payment"]["id"]) == [
        "payment.created",
        "payment.cancelled",
        "payment.attention_required",
        "payment.attention_resolved",
    ]


async def test_a_checkout_closed_unpaid_is_checked_at_the_gateway_and_money_taken_anyway_goes_to_a_person(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, clock: ManualClock
) -> None:
    """No ``complete`` and no webhook (a closed tab, a webhook never configured): the gateway is asked all the
    same when payguard closes a payment whose order the customer could have paid."""
    admin = {"X-Role": "admin"}
    async with client_for(test_gateway=razorpay) as client:
        paid_then_cancelled, paid_order = await _checkout(client)
        unpaid, _ = await _checkout(client)
        stale, stale_order = await _checkout(client)
        fake.pay(paid_order, outcome="captured")  # paid in Razorpay Checkout; payguard never hears of it
        fake.pay(stale_order, outcome="captured")
        for session in (paid_then_cancelled, unpaid):
            await client.post(f"{SESSIONS}/{session['id']}/cancel", headers=ALICE)
        fake.fail_next("order_payments")  # the first question gets no answer: asked again later
        steps = await work_off(client.app)
        clock.advance(3600)  # the stale payment's session has expired long ago; the cleanup expires it
        forced = await client.post("/payguard/admin/cleanup/force", headers=admin)
        steps += await work_off(client.app)
        clock.advance(3600)
        steps += await work_off(client.app)
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()

    assert forced.json()["expired"] >= 1
    assert steps == 4  # three checks, one of them twice
    reasons = {item["id"]: item["attentionReason"] for item in flagged}
    assert set(reasons) == {paid_then_cancelled["payment"]["id"], stale["payment"]["id"]}
    assert all("captured" in reason for reason in reasons.values())
    rows = await store.rows("SELECT id, status, process_at FROM payguard_payment")
    assert {str(row["id"]): row["status"] for row in rows} == {
        paid_then_cancelled["payment"]["id"]: "cancelled",
        unpaid["payment"]["id"]: "cancelled",
        stale["payment"]["id"]: "expired",
    }
    assert all(row["process_at"] is None for row in rows)  # each checked, none left due
    assert fake.capture_count() == 2  # payguard captured nothing itself


async def test_the_check_of_a_closed_payment_counts_its_own_questions_not_the_earlier_processing(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, clock: ManualClock
) -> None:
    admin = {"X-Role": "admin"}
    async with client_for(test_gateway=razorpay, gateway_max_attempts=2) as client:
        session, order_id = await _checkout(client)
        declined = fake.pay(order_id, outcome="failed")
        signature = fake.checkout_signature(order_id, declined)
        url = f"{SESSIONS}/{session['id']}"
        await client.post(f"{url}/complete", json={"gatewayPaymentId": declined, "signature": signature}, headers=ALICE)
        await work_off(client.app)  # the worker took the payment up once: declined, the session interrupted
        processed = await store.scalar("SELECT process_attempts FROM payguard_payment")
        await client.post(f"{url}/cancel", headers=ALICE)
        fake.fail_next("order_payments")  # the first question about the closed payment gets no answer
        await work_off(client.app)
        clock.advance(3600)
        await work_off(client.app)
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()
        row = (await store.rows("SELECT status, process_at, process_attempts FROM payguard_payment"))[0]

    assert processed == 1
    assert flagged == []  # one unanswered question of two allowed: asked again, and not paid
    assert (row["status"], row["process_at"], row["process_attempts"]) == ("cancelled", None, 2)


async def test_an_order_opened_while_the_checkout_is_cancelled_is_refused_and_checked_at_the_gateway(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    admin = {"X-Role": "admin"}
    async with client_for(test_gateway=razorpay) as client:
        session = await _rupee_session(client)
        url = f"{SESSIONS}/{session['id']}"
        fake.delays["create_order"] = 1.0  # Razorpay takes its time to open the order ...
        ordering = asyncio.create_task(client.post(f"{url}/order", headers=ALICE))
        await asyncio.sleep(0.4)
        cancel = await client.post(f"{url}/cancel", headers=ALICE)  # ... and the customer cancels meanwhile
        order = await ordering
        fake.delays.clear()
        (row,) = await store.rows("SELECT status, gateway_order_id, process_at FROM payguard_payment")
        fake.pay(row["gateway_order_id"], outcome="captured")  # paid all the same (another tab with the order)
        await work_off(client.app)
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()

    assert cancel.status_code == 200
    assert (order.status_code, order.json()["code"]) == (409, "SESSION_CANCELLED")
    assert (row["status"], row["process_at"] is not None) == ("cancelled", True)  # the order is kept, and checked
    assert [item["id"] for item in flagged] == [session["payment"]["id"]]


async def test_a_decline_one_step_saw_first_never_undoes_the_capture_another_step_made(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        session, order_id = await _checkout(client)
        payment_id = uuid.UUID(session["payment"]["id"])
        declined = fake.pay(order_id, outcome="failed")
        signature = fake.checkout_signature(order_id, declined)
        url = f"{SESSIONS}/{session['id']}"
        await client.post(f"{url}/complete", json={"gatewayPaymentId": declined, "signature": signature}, headers=ALICE)
        fake.response_delays["order_payments"] = 1.0  # step A sees the order with the declined card only ...
        step_a = asyncio.create_task(payguard_of(client.app).payment_processor().process(payment_id))
        await asyncio.sleep(0.4)
        fake.response_delays.clear()
        paid = fake.pay(order_id)  # ... while the customer pays with another card on the same order
        headers, body = fake.webhook("payment.authorized", paid)
        await client.post(HOOKS, content=body, headers=headers)  # the news makes the payment due: step B
        fake.delays["capture"] = 1.5
        step_b = asyncio.create_task(payguard_of(client.app).payment_processor().process(payment_id))
        await asyncio.gather(step_a, step_b)
        fake.delays.clear()
        await work_off(client.app)
        final = (await client.get(url, headers=ALICE)).json()

    assert fake.capture_count(order_id) == 1
    assert (final["status"], final["payment"]["status"], final["payment"]["gatewayPaymentId"]) == (
        "completed",
        "succeeded",
        paid,
    )


async def test_capture_news_for_a_flagged_payment_reaches_the_person_deciding_it(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway
) -> None:
    admin = {"X-Role": "admin"}
    async with client_for(test_gateway=razorpay, gateway_max_attempts=1) as client:
        session, order_id = await _checkout(client)
        authorized = fake.pay(order_id, outcome="captured")  # an account that captures on its own
        signature = fake.checkout_signature(order_id, authorized)
        url = f"{SESSIONS}/{session['id']}"
        await client.post(
            f"{url}/complete", json={"gatewayPaymentId": authorized, "signature": signature}, headers=ALICE
        )
        fake.fail_next("order_payments")
        await work_off(client.app)  # no answer, one attempt allowed: flagged while processing
        headers, body = fake.webhook("payment.captured", authorized)
        news = await client.post(HOOKS, content=body, headers=headers)
        flagged = (await client.get("/payguard/admin/payments/attention", headers=admin)).json()

    assert news.json()["outcome"] == "attention"
    assert [item["status"] for item in flagged] == ["processing"]
    assert "no answer" in flagged[0]["attentionReason"]
    assert f"then the gateway reported payment.captured for {authorized}" in flagged[0]["attentionReason"]


async def _unanswered_checkout(client: Client, fake: FakeRazorpay) -> tuple[dict[str, Any], str, str]:
    """A checkout completed with a card authorized, not captured, that the gateway then never answered about.

    Flagged while ``processing`` (``gateway_max_attempts=1``). Returns the session, its order and the payment.
    """
    session, order_id = await _checkout(client)
    authorized = fake.pay(order_id)
    signature = fake.checkout_signature(order_id, authorized)
    body = {"gatewayPaymentId": authorized, "signature": signature}
    await client.post(f"{SESSIONS}/{session['id']}/complete", json=body, headers=ALICE)
    fake.fail_next("order_payments")
    await work_off(client.app)
    return session, order_id, authorized


async def test_a_checkout_resolved_as_failed_when_no_money_moved_ends_for_good(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay, gateway_max_attempts=1) as client:
        session, order_id, authorized = await _unanswered_checkout(client, fake)
        resolved = await client.post(
            f"/payguard/admin/payments/{session['payment']['id']}/resolve",
            json={"status": "failed"},
            headers={"X-Role": "admin"},
        )
        signature = fake.checkout_signature(order_id, authorized)
        replayed = await client.post(
            f"{SESSIONS}/{session['id']}/complete",
            json={"gatewayPaymentId": authorized, "signature": signature},
            headers=ALICE,
        )
        steps = await work_off(client.app)  # the gateway is asked once more: authorized, never captured
        final = (await client.get(f"{SESSIONS}/{session['id']}", headers=ALICE)).json()
        flagged = (await client.get("/payguard/admin/payments/attention", headers={"X-Role": "admin"})).json()

    assert (resolved.status_code, resolved.json()["status"]) == (200, "failed")
    assert resolved.json()["failureCode"] == "resolved_by_hand"
    assert (replayed.status_code, replayed.json()["code"]) == (409, "SESSION_FAILED")
    assert (steps, flagged) == (1, [])
    assert (final["status"], final["payment"]["status"]) == ("failed", "failed")
    assert fake.capture_count(order_id) == 0  # never captured: the authorization lapses at Razorpay
    assert (await store.event_types(session["payment"]["id"]))[-2:] == ["payment.attention_resolved", "payment.failed"]


async def test_capture_news_racing_a_failed_resolution_never_leaves_money_unseen(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    outcomes = []
    async with client_for(test_gateway=razorpay, gateway_max_attempts=1) as client:
        for _ in range(4):
            session, _, authorized = await _unanswered_checkout(client, fake)
            fake.settle_payment(authorized, "captured")  # the account captures it on its own
            headers, body = fake.webhook("payment.captured", authorized)
            news, resolved = await asyncio.gather(
                client.post(HOOKS, content=body, headers=headers),
                client.post(
                    f"/payguard/admin/payments/{session['payment']['id']}/resolve",
                    json={"status": "failed"},
                    headers={"X-Role": "admin"},
                ),
            )
            await work_off(client.app)  # the gateway check after a failed resolution
            (row,) = await store.rows(
                "SELECT status, needs_attention FROM payguard_payment WHERE id = :id", id=session["payment"]["id"]
            )
            outcomes.append((news.json()["outcome"], resolved.status_code, row["status"], row["needs_attention"]))

    # Whichever came first, the captured money is still in front of a person.
    assert set(outcomes) == {("attention", 200, "failed", True)}, outcomes


async def test_news_waiting_for_a_worker_is_not_lost_when_the_payment_is_closed_first(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, clock: ManualClock
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        session, order_id = await _checkout(client)
        payment_id = fake.pay(order_id, outcome="captured")
        headers, body = fake.webhook("payment.captured", payment_id)
        await client.post(HOOKS, content=body, headers=headers)  # due now, but no worker yet ...
        clock.advance(15 * 60)  # ... and the session expires first
        expired = (await client.get(f"{SESSIONS}/{session['id']}", headers=ALICE)).json()
        await work_off(client.app)

    assert (expired["status"], expired["payment"]["status"]) == ("expired", "cancelled")
    row = (await store.rows("SELECT status, needs_attention, attention_reason FROM payguard_payment"))[0]
    assert (row["status"], row["needs_attention"]) == ("cancelled", True)
    assert payment_id in row["attention_reason"]
    assert fake.capture_count(order_id) == 1


async def test_an_order_the_gateway_refuses_fails_the_payment_once_and_answers_422_to_a_checkout(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        await seed_merchants(client)
        tiny = await create_payment(client, amount=50)  # below Razorpay's minimum of INR 1.00
        steps = await work_off(client.app)
        body = (await client.get(f"{PAYMENTS}/{tiny['id']}", headers=ACME)).json()
        session = await _rupee_session(client, amount=50)
        order = await client.post(f"{SESSIONS}/{session['id']}/order", headers=ALICE)

    assert steps == 1  # refused, not retried
    assert (body["status"], body["failureCode"]) == ("failed", "BAD_REQUEST_ERROR")
    assert (order.status_code, order.json()["code"]) == (422, "GATEWAY_REFUSED")
    assert "minimum" in order.json()["detail"] or "atleast" in order.json()["detail"]
    assert (
        await store.scalar("SELECT gateway_order_id FROM payguard_payment WHERE id = :id", id=session["payment"]["id"])
        is None
    )


async def test_a_gateway_answering_after_the_lease_is_given_up_on_inside_it_and_the_retry_charges_nothing_more(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, clock: ManualClock
) -> None:
    lease = 2.5  # seconds: the gateway calls get 2 of them, the rest is kept to record the retry
    async with client_for(test_gateway=razorpay, payment_lease_seconds=lease) as client:
        await seed_merchants(client)
        created = await create_payment(client, vpa="success@razorpay")
        payment_id = uuid.UUID(created["id"])
        processor = payguard_of(client.app).payment_processor()
        fake.response_delays["capture"] = 2 * lease  # the money moves; the answer comes after the lease ended
        started = time.monotonic()
        first = await processor.process(payment_id)
        waited = time.monotonic() - started
        (row,) = await store.rows(
            "SELECT process_at, process_attempts FROM payguard_payment WHERE id = :id", id=created["id"]
        )
        fake.response_delays.clear()
        clock.advance(10)  # the retry is due (gateway_retry_seconds)
        second = await processor.process(payment_id)

    assert waited < lease
    assert (first.status, first.next_at) == (PaymentStatus.PROCESSING, clock.now())  # a retry, set inside the lease
    assert (row["process_at"], row["process_attempts"]) == (clock.now(), 1)
    assert second.status is PaymentStatus.SUCCEEDED  # the retry asked Razorpay first, and found the capture
    assert fake.captures_by_receipt() == {created["id"]: 1}


async def test_a_refund_answered_after_the_lease_is_given_up_on_inside_it_and_refunded_once(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, clock: ManualClock
) -> None:
    lease = 2.5
    async with client_for(test_gateway=razorpay, payment_lease_seconds=lease) as client:
        await seed_merchants(client)
        created = await create_payment(client, vpa="success@razorpay")
        await work_off(client.app)
        response = await client.post(f"{PAYMENTS}/{created['id']}/refunds", json={"amount": 700}, headers=keyed())
        assert response.status_code == 201, response.text
        refund_id = uuid.UUID(response.json()["id"])
        processor = RefundProcessor(payguard_of(client.app).config, payguard_of(client.app).db_session)
        fake.response_delays["refund"] = 2 * lease
        started = time.monotonic()
        first = await processor.process(refund_id)
        waited = time.monotonic() - started
        fake.response_delays.clear()
        clock.advance(10)
        second = await processor.process(refund_id)
        gateway_payment_id = await store.scalar(
            "SELECT gateway_payment_id FROM payguard_payment WHERE id = :id", id=created["id"]
        )

    assert waited < lease
    assert (first.status, first.next_at) == (RefundStatus.PENDING, clock.now())
    assert second.status is RefundStatus.PROCESSED  # the retry found the refund its first POST made
    assert [refund["amount"] for refund in fake.refunds(gateway_payment_id)] == [700]


async def test_a_step_cancelled_after_the_capture_gives_its_lease_back_and_the_retry_charges_nothing_more(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, clock: ManualClock
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        await seed_merchants(client)
        created = await create_payment(client, vpa="success@razorpay")
        payment_id = uuid.UUID(created["id"])
        processor = payguard_of(client.app).payment_processor()
        fake.response_delays["capture"] = 5.0  # the money moves; the worker stops before it hears of it
        step = asyncio.create_task(processor.process(payment_id))

        async def captured() -> bool:
            order_id = await store.scalar(
                "SELECT gateway_order_id FROM payguard_payment WHERE id = :id", id=created["id"]
            )
            return bool(order_id) and any(p["status"] == "captured" for p in fake.payments(order_id))

        await eventually(captured)
        step.cancel()  # what SAQ does to a running job when its worker stops, or when it aborts the job
        with pytest.raises(asyncio.CancelledError):
            await step
        (row,) = await store.rows(
            "SELECT status, process_at, process_attempts FROM payguard_payment WHERE id = :id", id=created["id"]
        )
        fake.response_delays.clear()
        retried = await processor.process(payment_id)  # the job SAQ retries, at once: no clock moves

    assert (row["status"], row["process_at"], row["process_attempts"]) == ("processing", clock.now(), 1)
    assert retried.status is PaymentStatus.SUCCEEDED
    assert fake.captures_by_receipt() == {created["id"]: 1}


async def test_a_refund_step_cancelled_after_the_refund_gives_its_lease_back_and_refunds_once(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store, clock: ManualClock
) -> None:
    async with client_for(test_gateway=razorpay) as client:
        await seed_merchants(client)
        created = await create_payment(client, vpa="success@razorpay")
        await work_off(client.app)
        response = await client.post(f"{PAYMENTS}/{created['id']}/refunds", json={"amount": 700}, headers=keyed())
        refund_id = uuid.UUID(response.json()["id"])
        gateway_payment_id = await store.scalar(
            "SELECT gateway_payment_id FROM payguard_payment WHERE id = :id", id=created["id"]
        )
        processor = RefundProcessor(payguard_of(client.app).config, payguard_of(client.app).db_session)
        fake.response_delays["refund"] = 5.0
        step = asyncio.create_task(processor.process(refund_id))

        async def refunded() -> bool:
            return bool(fake.refunds(gateway_payment_id))

        await eventually(refunded)
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
        due = await store.scalar("SELECT process_at FROM payguard_refund WHERE id = :id", id=str(refund_id))
        fake.response_delays.clear()
        retried = await processor.process(refund_id)

    assert due == clock.now()
    assert retried.status is RefundStatus.PROCESSED
    assert [refund["amount"] for refund in fake.refunds(gateway_payment_id)] == [700]


async def test_a_job_swept_while_it_captures_is_retried_at_once_and_charges_once(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    """SAQ's sweep can take a job a worker has just dequeued, but not yet marked active, for a lost one
    (tobymao/saq#277): it aborts the running job. Its payment must not wait for the reconciler."""
    settings = {"run_worker_in_app": True, "clock": SystemClock(), "reconcile_cron": "0 0 1 1 *"}  # no reconciler
    async with client_for(test_gateway=razorpay, **settings) as client:
        await seed_merchants(client)
        queue = payguard_of(client.app).queue
        fake.response_delays["capture"] = 4.0  # the money moves; the job is still waiting for the answer
        created = await create_payment(client, vpa="success@razorpay")

        async def captured() -> bool:
            return fake.captures_by_receipt().get(created["id"], 0) > 0

        await eventually(captured)
        # The race's state: the running job, in SAQ's active list, still stored as queued.
        (job_id,) = await queue.redis.lrange(queue.namespace("active"), 0, -1)
        job = queue.deserialize(await queue.redis.get(job_id))
        assert job is not None
        job.status = Status.QUEUED
        await queue.redis.set(job_id, queue.serialize(job))
        await queue.redis.delete(queue.namespace("sweep"))  # the sweep's lock, taken by the worker's own start
        assert await queue.sweep() == [job_id.decode()]
        fake.response_delays.clear()
        status = await settled(client, created["id"])

    assert status == "succeeded"
    assert fake.captures_by_receipt() == {created["id"]: 1}


async def test_an_application_shutting_down_lets_its_worker_finish_a_running_capture(
    client_for: ClientFactory, fake: FakeRazorpay, razorpay: RazorpayGateway, store: Store
) -> None:
    """The in-app worker stops as a CLI worker does on SIGTERM: the running job finishes within the grace."""
    settings = {"run_worker_in_app": True, "clock": SystemClock(), "reconcile_cron": "0 0 1 1 *"}  # no reconciler
    async with client_for(test_gateway=razorpay, **settings) as client:
        await seed_merchants(client)
        fake.response_delays["capture"] = 1.0  # the money moves; the answer comes a second later
        created = await create_payment(client, vpa="success@razorpay")

        async def captured() -> bool:
            return fake.captures_by_receipt().get(created["id"], 0) > 0

        await eventually(captured)
        before = await store.scalar("SELECT status FROM payguard_payment WHERE id = :id", id=created["id"])
    # The application has shut down, its worker with it: the capture's answer was heard and recorded.
    after = await store.rows("SELECT status, process_attempts FROM payguard_payment WHERE id = :id", id=created["id"])

    assert before == "processing"
    assert [(row["status"], row["process_attempts"]) for row in after] == [("succeeded", 1)]
    assert fake.captures_by_receipt() == {created["id"]: 1}
