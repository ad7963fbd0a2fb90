"""The Razorpay adapter against a fake Razorpay speaking its REST API over real HTTP (no database needed)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from litestar_payguard.exceptions import GatewayError, InvalidSignatureError
from litestar_payguard.gateways.base import (
    ChargeRequest,
    GatewayStatus,
    OrderRequest,
    PaymentOutcome,
    RefundRequest,
    WebhookKind,
)
from litestar_payguard.gateways.razorpay import RazorpayGateway
from litestar_payguard.gateways.razorpay_webhooks import webhook_signature
from litestar_payguard.testing.razorpay import FakeRazorpay

KEY_ID = "rzp_test_PayGuard01"
KEY_SECRET = "key-secret-never-shown"
WEBHOOK_SECRET = "webhook-secret-never-shown"
AMOUNT = 50_000


@pytest.fixture
def fake() -> Iterator[FakeRazorpay]:
    with FakeRazorpay(KEY_ID, KEY_SECRET, WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture
def gateway(fake: FakeRazorpay) -> RazorpayGateway:
    return RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=fake.url, timeout_seconds=5)


async def open_order(gateway: RazorpayGateway, amount: int = AMOUNT) -> tuple[uuid.UUID, str]:
    payment_id = uuid.uuid4()
    request = OrderRequest(payment_id, amount, "INR", f"payment:{payment_id}:order", notes={"cart": "c1"})
    return payment_id, (await gateway.create_order(request)).order_id


def charge_request(
    payment_id: uuid.UUID,
    order_id: str,
    *,
    gateway_payment_id: str | None = None,
    method: str | None = None,
    vpa: str | None = None,
) -> ChargeRequest:
    return ChargeRequest(
        payment_id=payment_id,
        amount=AMOUNT,
        currency="INR",
        gateway_order_id=order_id,
        idempotency_key=f"payment:{payment_id}",
        gateway_payment_id=gateway_payment_id,
        method=method,
        method_details={"vpa": vpa} if vpa else {},
    )


def upi(payment_id: uuid.UUID, order_id: str, vpa: str = "success@razorpay") -> ChargeRequest:
    return charge_request(payment_id, order_id, method="upi", vpa=vpa)


def refund_request(payment_id: uuid.UUID, gateway_payment_id: str, amount: int, refund_id: uuid.UUID) -> RefundRequest:
    return RefundRequest(refund_id, payment_id, gateway_payment_id, amount, "INR", f"refund:{refund_id}", "damaged")


async def paid(gateway: RazorpayGateway) -> tuple[uuid.UUID, str, str]:
    """A captured payment: (our payment id, order id, gateway payment id)."""
    payment_id, order_id = await open_order(gateway)
    outcome = await gateway.charge(upi(payment_id, order_id))
    assert outcome.succeeded
    assert outcome.gateway_payment_id is not None
    return payment_id, order_id, outcome.gateway_payment_id


# -- orders and charges ---------------------------------------------------------------------------------------


async def test_an_order_carries_our_payment_id(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id = await open_order(gateway)
    order = fake.order(order_id)
    assert order_id.startswith("order_")
    assert len(order_id) == len("order_") + 14
    assert (order["amount"], order["currency"], order["receipt"], order["status"]) == (
        AMOUNT,
        "INR",
        str(payment_id),
        "created",
    )
    assert order["notes"] == {"cart": "c1", "payguard_payment_id": str(payment_id)}


async def test_a_upi_payment_the_server_starts_is_captured_once(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id = await open_order(gateway)
    outcome = await gateway.charge(upi(payment_id, order_id))
    assert outcome.status is GatewayStatus.SUCCEEDED
    assert outcome.gateway_payment_id is not None
    assert outcome.gateway_payment_id.startswith("pay_")
    payment = fake.payment(outcome.gateway_payment_id)
    assert (payment["status"], payment["captured"], payment["method"], payment["vpa"]) == (
        "captured",
        True,
        "upi",
        "success@razorpay",
    )
    assert fake.order(order_id)["status"] == "paid"
    assert fake.captures_by_receipt() == {str(payment_id): 1}


async def test_a_declined_upi_payment_fails_with_razorpays_code(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id = await open_order(gateway)
    outcome = await gateway.charge(upi(payment_id, order_id, vpa="failure@razorpay"))
    assert outcome.status is GatewayStatus.FAILED
    assert (outcome.failure_code, outcome.failure_message) == ("BAD_REQUEST_ERROR", "Payment failed")
    assert outcome.gateway_payment_id is not None
    assert fake.payment(outcome.gateway_payment_id)["status"] == "failed"
    assert fake.capture_count() == 0
    again = await gateway.charge(upi(payment_id, order_id))
    assert again == outcome, "a retry reports the failed payment instead of starting another"
    assert len(fake.payments(order_id)) == 1


async def test_a_refused_payment_start_is_a_failed_outcome(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id = await open_order(gateway)
    outcome = await gateway.charge(upi(payment_id, order_id, vpa="not-a-vpa"))
    assert outcome.status is GatewayStatus.FAILED
    assert outcome.failure_code == "BAD_REQUEST_ERROR"
    assert outcome.failure_message is not None
    assert "Invalid VPA" in outcome.failure_message
    assert fake.payments(order_id) == []


async def test_razorpay_refuses_a_server_started_card_netbanking_or_wallet_payment_without_its_details(
    fake: FakeRazorpay, gateway: RazorpayGateway
) -> None:
    """Why RazorpayGateway.server_methods is UPI only: the fake refuses what Razorpay refuses."""
    for method, field in (("card", "card number"), ("netbanking", "bank"), ("wallet", "wallet")):
        payment_id, order_id = await open_order(gateway)
        outcome = await gateway.charge(charge_request(payment_id, order_id, method=method))
        assert (outcome.status, outcome.failure_code) == (GatewayStatus.FAILED, "BAD_REQUEST_ERROR")
        assert f"{field} field is required" in (outcome.failure_message or "")
        assert fake.payments(order_id) == []


async def test_charging_an_order_again_never_charges_twice(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id = await open_order(gateway)
    first = await gateway.charge(upi(payment_id, order_id))
    before = len(fake.requests)
    second = await gateway.charge(upi(payment_id, order_id))
    assert first == second
    assert second.succeeded
    assert fake.captures_by_receipt() == {str(payment_id): 1}
    assert len(fake.payments(order_id)) == 1
    assert fake.requests[before:] == [("GET", f"/v1/orders/{order_id}/payments")]


async def test_a_capture_whose_answer_was_lost_is_not_repeated(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id = await open_order(gateway)
    fake.fail_next("capture", status=502, after_change=True)
    with pytest.raises(GatewayError, match="capture"):
        await gateway.charge(upi(payment_id, order_id))
    assert fake.capture_count(order_id) == 1, "the gateway moved the money, only its answer was lost"
    retried = await gateway.charge(upi(payment_id, order_id))
    assert retried.succeeded
    assert fake.captures_by_receipt() == {str(payment_id): 1}
    assert len(fake.payments(order_id)) == 1


async def test_an_already_captured_answer_is_checked_against_the_payment(fake: FakeRazorpay) -> None:
    # Two workers race on one order: both see it authorized, one capture is refused as a repeat.
    gateway = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=fake.url)
    payment_id, order_id = await open_order(gateway)
    customer_payment = fake.pay(order_id)
    fake.delays["capture"] = 0.3
    request = charge_request(payment_id, order_id, gateway_payment_id=customer_payment)
    first, second = await asyncio.gather(gateway.charge(request), gateway.charge(request))
    assert first == second == PaymentOutcome(GatewayStatus.SUCCEEDED, customer_payment)
    assert fake.requests.count(("POST", f"/v1/payments/{customer_payment}/capture")) == 2
    assert fake.captures_by_receipt() == {str(payment_id): 1}


async def test_a_held_capture_that_times_out_lands_once(fake: FakeRazorpay) -> None:
    impatient = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=fake.url, timeout_seconds=0.2)
    payment_id, order_id = await open_order(impatient)
    fake.delays["capture"] = 0.6
    with pytest.raises(GatewayError, match="ReadTimeout"):
        await impatient.charge(upi(payment_id, order_id))
    for _ in range(100):
        if fake.capture_count(order_id):
            break
        await asyncio.sleep(0.05)
    fake.delays.clear()
    outcome = await impatient.charge(upi(payment_id, order_id))
    assert outcome.succeeded
    assert fake.captures_by_receipt() == {str(payment_id): 1}


async def test_a_checkout_payment_is_captured(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id = await open_order(gateway)
    customer_payment = fake.pay(order_id)
    assert gateway.verify_client_signature(
        order_id, customer_payment, fake.checkout_signature(order_id, customer_payment)
    )
    outcome = await gateway.charge(charge_request(payment_id, order_id, gateway_payment_id=customer_payment))
    assert outcome == PaymentOutcome(GatewayStatus.SUCCEEDED, customer_payment)
    assert fake.payment(customer_payment)["status"] == "captured"
    assert fake.captures_by_receipt() == {str(payment_id): 1}


async def test_an_auto_captured_checkout_payment_is_reported_not_captured_again(
    fake: FakeRazorpay, gateway: RazorpayGateway
) -> None:
    payment_id, order_id = await open_order(gateway)
    customer_payment = fake.pay(order_id, outcome="captured")
    outcome = await gateway.charge(charge_request(payment_id, order_id, gateway_payment_id=customer_payment))
    assert outcome == PaymentOutcome(GatewayStatus.SUCCEEDED, customer_payment)
    assert ("POST", f"/v1/payments/{customer_payment}/capture") not in fake.requests
    assert fake.captures_by_receipt() == {str(payment_id): 1}


async def test_a_payment_of_another_order_is_never_captured(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id = await open_order(gateway)
    _, other_order = await open_order(gateway)
    foreign = fake.pay(other_order)
    outcome = await gateway.charge(charge_request(payment_id, order_id, gateway_payment_id=foreign))
    assert outcome.status is GatewayStatus.FAILED
    assert outcome.failure_code == "payment_order_mismatch"
    assert fake.payment(foreign)["status"] == "authorized"
    assert fake.capture_count() == 0


async def test_an_amount_other_than_the_authorized_one_is_not_captured(
    fake: FakeRazorpay, gateway: RazorpayGateway
) -> None:
    payment_id, order_id = await open_order(gateway)
    customer_payment = fake.pay(order_id)
    request = replace(charge_request(payment_id, order_id, gateway_payment_id=customer_payment), amount=AMOUNT - 1)
    outcome = await gateway.charge(request)
    assert (outcome.status, outcome.failure_code) == (GatewayStatus.FAILED, "amount_mismatch")
    assert fake.payment(customer_payment)["status"] == "authorized"
    assert fake.capture_count() == 0


async def test_a_path_like_payment_id_stays_one_path_segment(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, _, gateway_payment = await paid(gateway)
    outcome = await gateway.refund(refund_request(payment_id, f"../{gateway_payment}", AMOUNT, uuid.uuid4()))
    assert (outcome.status, outcome.failure_message) == (GatewayStatus.FAILED, "The id provided does not exist")
    assert fake.requests[-1] == ("GET", f"/v1/payments/..%2F{gateway_payment}/refunds")
    assert fake.refunds(gateway_payment) == []


async def test_an_order_without_payment_or_method_is_pending(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id = await open_order(gateway)
    assert await gateway.charge(charge_request(payment_id, order_id)) == PaymentOutcome(GatewayStatus.PENDING)
    assert fake.payments(order_id) == []


async def test_a_collect_request_waiting_for_the_customer_is_pending(
    fake: FakeRazorpay, gateway: RazorpayGateway
) -> None:
    payment_id, order_id = await open_order(gateway)
    outcome = await gateway.charge(upi(payment_id, order_id, vpa="someone@okbank"))
    assert outcome.status is GatewayStatus.PENDING
    assert outcome.gateway_payment_id is not None
    fake.settle_payment(outcome.gateway_payment_id, "authorized")
    assert await gateway.fetch_status(order_id, None) == PaymentOutcome(
        GatewayStatus.PENDING, outcome.gateway_payment_id
    )
    settled = await gateway.charge(upi(payment_id, order_id, vpa="someone@okbank"))
    assert settled == PaymentOutcome(GatewayStatus.SUCCEEDED, outcome.gateway_payment_id)
    assert fake.captures_by_receipt() == {str(payment_id): 1}


# -- status ---------------------------------------------------------------------------------------------------


async def test_fetch_status_follows_the_order_without_capturing(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id = await open_order(gateway)
    assert await gateway.fetch_status(order_id, None) is None
    customer_payment = fake.pay(order_id)
    pending = await gateway.fetch_status(order_id, customer_payment)
    assert pending == PaymentOutcome(GatewayStatus.PENDING, customer_payment)
    assert fake.capture_count() == 0
    await gateway.charge(charge_request(payment_id, order_id, gateway_payment_id=customer_payment))
    assert await gateway.fetch_status(order_id, None) == PaymentOutcome(GatewayStatus.SUCCEEDED, customer_payment)
    assert await gateway.fetch_status(order_id, customer_payment) == PaymentOutcome(
        GatewayStatus.SUCCEEDED, customer_payment
    )


async def test_fetch_status_reports_a_failed_payment(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    _, order_id = await open_order(gateway)
    failed = fake.pay(order_id, outcome="failed")
    outcome = await gateway.fetch_status(order_id, None)
    assert outcome == PaymentOutcome(GatewayStatus.FAILED, failed, "BAD_REQUEST_ERROR", "Payment failed")
    retried = fake.pay(order_id)
    assert await gateway.fetch_status(order_id, None) == PaymentOutcome(GatewayStatus.PENDING, retried)


# -- refunds --------------------------------------------------------------------------------------------------


async def test_a_full_refund(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, _, gateway_payment = await paid(gateway)
    refund_id = uuid.uuid4()
    outcome = await gateway.refund(refund_request(payment_id, gateway_payment, AMOUNT, refund_id))
    assert outcome.status is GatewayStatus.SUCCEEDED
    assert outcome.gateway_refund_id is not None
    assert outcome.gateway_refund_id.startswith("rfnd_")
    [refund] = fake.refunds(gateway_payment)
    assert (refund["amount"], refund["receipt"], refund["notes"]) == (
        AMOUNT,
        str(refund_id),
        {"payguard_refund_id": str(refund_id), "reason": "damaged"},
    )
    payment = fake.payment(gateway_payment)
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == ("refunded", AMOUNT, "full")
    assert await gateway.fetch_status(fake.payment(gateway_payment)["order_id"], gateway_payment) == PaymentOutcome(
        GatewayStatus.SUCCEEDED, gateway_payment
    )


async def test_partial_refunds_add_up(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, _, gateway_payment = await paid(gateway)
    first = await gateway.refund(refund_request(payment_id, gateway_payment, 20_000, uuid.uuid4()))
    second = await gateway.refund(refund_request(payment_id, gateway_payment, 30_000, uuid.uuid4()))
    assert first.status is second.status is GatewayStatus.SUCCEEDED
    assert first.gateway_refund_id != second.gateway_refund_id
    payment = fake.payment(gateway_payment)
    assert (payment["amount_refunded"], payment["refund_status"]) == (AMOUNT, "full")


async def test_a_repeated_refund_refunds_once(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, _, gateway_payment = await paid(gateway)
    request = refund_request(payment_id, gateway_payment, 10_000, uuid.uuid4())
    first = await gateway.refund(request)
    second = await gateway.refund(request)
    assert first == second
    assert len(fake.refunds(gateway_payment)) == 1
    assert fake.payment(gateway_payment)["amount_refunded"] == 10_000


async def test_a_refund_whose_answer_was_lost_is_not_repeated_before_razorpay_lists_it(fake: FakeRazorpay) -> None:
    impatient = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=fake.url, timeout_seconds=0.2)
    payment_id, _, gateway_payment = await paid(impatient)
    request = refund_request(payment_id, gateway_payment, 10_000, uuid.uuid4())
    fake.refunds_listed_after = 60.0  # the payment's list of refunds shows a new one only later
    fake.response_delays["refund"] = 0.6  # the refund is made; its answer comes after the client gave up
    with pytest.raises(GatewayError, match="ReadTimeout"):
        await impatient.refund(request)
    await asyncio.sleep(0.6)  # Razorpay has finished with the first request (while it works on it, a retry is 409)
    fake.response_delays.clear()
    retried = await impatient.refund(request)  # the list shows nothing: only the idempotency key prevents a second
    assert retried.status is GatewayStatus.SUCCEEDED
    [refund] = fake.refunds(gateway_payment)
    assert retried.gateway_refund_id == refund["id"]
    assert fake.payment(gateway_payment)["amount_refunded"] == 10_000
    changed = refund_request(payment_id, gateway_payment, 20_000, request.refund_id)
    assert (await impatient.refund(changed)).status is GatewayStatus.FAILED  # a key is bound to its first body


async def test_a_refund_retried_while_razorpay_still_answers_the_first_is_no_answer_not_a_failure(
    fake: FakeRazorpay,
) -> None:
    impatient = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=fake.url, timeout_seconds=0.2)
    payment_id, _, gateway_payment = await paid(impatient)
    request = refund_request(payment_id, gateway_payment, 10_000, uuid.uuid4())
    fake.refunds_listed_after = 60.0
    fake.response_delays["refund"] = 1.5  # Razorpay is still working on the first request when the retry comes
    with pytest.raises(GatewayError, match="ReadTimeout"):
        await impatient.refund(request)
    with pytest.raises(GatewayError, match="still being processed"):  # 409: retried later, the refund not failed
        await impatient.refund(request)
    await asyncio.sleep(1.5)
    fake.response_delays.clear()
    retried = await impatient.refund(request)
    assert retried.status is GatewayStatus.SUCCEEDED
    assert len(fake.refunds(gateway_payment)) == 1


async def test_a_pending_refund_is_reported_until_processed(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, _, gateway_payment = await paid(gateway)
    fake.refunds_pending = True
    request = refund_request(payment_id, gateway_payment, 10_000, uuid.uuid4())
    pending = await gateway.refund(request)
    assert pending.status is GatewayStatus.PENDING
    assert pending.gateway_refund_id is not None
    fake.settle_refund(pending.gateway_refund_id, "failed")
    failed = await gateway.refund(request)
    assert (failed.status, failed.gateway_refund_id) == (GatewayStatus.FAILED, pending.gateway_refund_id)
    assert len(fake.refunds(gateway_payment)) == 1
    assert fake.payment(gateway_payment)["amount_refunded"] == 0


async def test_a_refund_beyond_the_captured_amount_fails(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, _, gateway_payment = await paid(gateway)
    outcome = await gateway.refund(refund_request(payment_id, gateway_payment, AMOUNT + 1, uuid.uuid4()))
    assert outcome.status is GatewayStatus.FAILED
    assert outcome.failure_code == "BAD_REQUEST_ERROR"
    assert outcome.failure_message == "The refund amount provided is greater than amount captured"
    assert fake.refunds(gateway_payment) == []
    assert fake.payment(gateway_payment)["amount_refunded"] == 0


# -- webhooks -------------------------------------------------------------------------------------------------


async def test_webhooks_are_verified_and_read(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    payment_id, order_id, gateway_payment = await paid(gateway)
    headers, body = fake.webhook("payment.captured", payment_id=gateway_payment)
    lowered = {key.lower(): value for key, value in headers.items()}
    captured = gateway.parse_webhook(lowered, body)
    assert captured.event_id == headers["X-Razorpay-Event-Id"]
    assert (captured.event_type, captured.kind) == ("payment.captured", WebhookKind.PAYMENT_SUCCEEDED)
    assert (captured.gateway_payment_id, captured.gateway_order_id, captured.amount) == (
        gateway_payment,
        order_id,
        AMOUNT,
    )
    assert gateway.parse_webhook(*fake.webhook("order.paid", payment_id=gateway_payment)).kind is (
        WebhookKind.PAYMENT_SUCCEEDED
    )
    refund = await gateway.refund(refund_request(payment_id, gateway_payment, 5_000, refund_id := uuid.uuid4()))
    assert refund.gateway_refund_id is not None
    processed = gateway.parse_webhook(*fake.webhook("refund.processed", refund_id=refund.gateway_refund_id))
    assert processed.kind is WebhookKind.REFUND_SUCCEEDED
    assert (processed.gateway_refund_id, processed.gateway_payment_id, processed.amount, processed.refund_receipt) == (
        refund.gateway_refund_id,
        gateway_payment,
        5_000,
        str(refund_id),
    )
    assert gateway.parse_webhook(*fake.webhook("refund.failed", refund_id=refund.gateway_refund_id)).kind is (
        WebhookKind.REFUND_FAILED
    )
    assert gateway.parse_webhook(*fake.webhook("payment.dispute.created", gateway_payment)).kind is WebhookKind.OTHER


async def test_a_failed_payment_webhook_carries_the_reason(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    _, order_id = await open_order(gateway)
    failed = fake.pay(order_id, outcome="failed")
    event = gateway.parse_webhook(*fake.webhook("payment.failed", payment_id=failed))
    assert (event.kind, event.gateway_payment_id, event.gateway_order_id) == (
        WebhookKind.PAYMENT_FAILED,
        failed,
        order_id,
    )
    assert (event.failure_code, event.failure_message) == ("BAD_REQUEST_ERROR", "Payment failed")


async def test_a_redelivered_webhook_keeps_its_event_id(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    _, order_id = await open_order(gateway)
    headers, body = fake.webhook("payment.authorized", payment_id=fake.pay(order_id))
    assert gateway.parse_webhook(headers, body).event_id == gateway.parse_webhook(dict(headers), body).event_id
    without_header = {key: value for key, value in headers.items() if key != "X-Razorpay-Event-Id"}
    with pytest.raises(InvalidSignatureError, match="event id"):
        gateway.parse_webhook(without_header, body)


@pytest.mark.parametrize("tamper", ["body", "secret", "missing", "empty", "not-json"])
async def test_unverifiable_webhooks_are_refused(fake: FakeRazorpay, gateway: RazorpayGateway, tamper: str) -> None:
    _, order_id = await open_order(gateway)
    headers, body = fake.webhook("payment.captured", payment_id=fake.pay(order_id, outcome="captured"))
    if tamper == "body":
        body = body.replace(str(AMOUNT).encode(), b"1")
    elif tamper == "secret":
        gateway = RazorpayGateway(KEY_ID, KEY_SECRET, "another-webhook-secret", base_url=fake.url)
    elif tamper == "missing":
        del headers["X-Razorpay-Signature"]
    elif tamper == "empty":
        headers["X-Razorpay-Signature"] = ""
    else:
        body = b"not json"
        headers["X-Razorpay-Signature"] = webhook_signature(WEBHOOK_SECRET, body)
    with pytest.raises(InvalidSignatureError) as refused:
        gateway.parse_webhook(headers, body)
    assert WEBHOOK_SECRET not in str(refused.value)


# -- errors ---------------------------------------------------------------------------------------------------


async def test_server_errors_are_gateway_errors(fake: FakeRazorpay, gateway: RazorpayGateway) -> None:
    fake.fail_next("create_order", status=503)
    with pytest.raises(GatewayError, match=r"create order failed: HTTP 503"):
        await open_order(gateway)
    payment_id, order_id = await open_order(gateway)
    fake.fail_next("order_payments", times=2)
    with pytest.raises(GatewayError, match="HTTP 500"):
        await gateway.charge(upi(payment_id, order_id))
    with pytest.raises(GatewayError, match="HTTP 500"):
        await gateway.fetch_status(order_id, None)
    assert fake.payments(order_id) == []
    assert (await gateway.charge(upi(payment_id, order_id))).succeeded


async def test_wrong_credentials_are_a_gateway_error_without_secrets(fake: FakeRazorpay) -> None:
    gateway = RazorpayGateway(KEY_ID, "a-wrong-secret", WEBHOOK_SECRET, base_url=fake.url)
    with pytest.raises(GatewayError) as refused:
        await open_order(gateway)
    message = str(refused.value)
    assert "HTTP 401" in message
    assert "BAD_REQUEST_ERROR" in message
    assert "a-wrong-secret" not in message
    assert KEY_SECRET not in message
    assert "a-wrong-secret" not in repr(gateway)


async def test_an_unreachable_gateway_is_a_gateway_error() -> None:
    with FakeRazorpay(KEY_ID, KEY_SECRET, WEBHOOK_SECRET) as gone:
        url = gone.url
    gateway = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=url)
    with pytest.raises(GatewayError, match="ConnectError"):
        await gateway.fetch_status("order_AAAAAAAAAAAAAA", None)


async def test_a_shared_client_is_used_and_left_open(fake: FakeRazorpay) -> None:
    async with httpx.AsyncClient() as client:
        gateway = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=fake.url, client=client)
        payment_id, _, gateway_payment = await paid(gateway)
        assert not client.is_closed
        outcome = await gateway.refund(refund_request(payment_id, gateway_payment, AMOUNT, uuid.uuid4()))
        assert outcome.status is GatewayStatus.SUCCEEDED


# -- the fake as a process of its own ------------------------------------------------------------------------


async def test_the_fake_serves_as_a_separate_process() -> None:
    command = [sys.executable, "-m", "litestar_payguard.testing.razorpay", "--port", "0"]
    command += ["--key-id", KEY_ID, "--key-secret", KEY_SECRET, "--webhook-secret", WEBHOOK_SECRET]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    try:
        assert process.stdout is not None
        url = (await asyncio.to_thread(process.stdout.readline)).strip()
        assert url.startswith("http://127.0.0.1:")
        gateway = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=url)
        payment_id, order_id = await open_order(gateway)
        async with httpx.AsyncClient(base_url=url) as client:
            checkout = (await client.post("/_fake/pay", json={"order_id": order_id})).json()
            assert gateway.verify_client_signature(
                order_id, checkout["razorpay_payment_id"], checkout["razorpay_signature"]
            )
            request = charge_request(payment_id, order_id, gateway_payment_id=checkout["razorpay_payment_id"])
            assert (await gateway.charge(request)).succeeded
            assert (await client.get("/_fake/captures")).json() == {str(payment_id): 1}
            signed = (
                await client.post(
                    "/_fake/webhook", json={"event": "payment.captured", "payment_id": checkout["razorpay_payment_id"]}
                )
            ).json()
            event = gateway.parse_webhook(signed["headers"], signed["body"].encode())
            assert event.kind is WebhookKind.PAYMENT_SUCCEEDED
            assert json.loads(signed["body"])["payload"]["payment"]["entity"]["status"] == "captured"
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert process.returncode == 0


async def test_a_failed_attempt_asked_for_gives_way_to_an_authorized_retry_of_the_same_order(
    fake: FakeRazorpay, gateway: RazorpayGateway
) -> None:
    payment_id = uuid.uuid4()
    order = await gateway.create_order(
        OrderRequest(payment_id=payment_id, amount=2500, currency="INR", idempotency_key=f"payment:{payment_id}:order")
    )
    failed = fake.pay(order.order_id, outcome="failed")
    retried = fake.pay(order.order_id)  # authorized

    outcome = await gateway.charge(
        ChargeRequest(
            payment_id=payment_id,
            amount=2500,
            currency="INR",
            gateway_order_id=order.order_id,
            idempotency_key=f"payment:{payment_id}",
            gateway_payment_id=failed,
        )
    )

    assert (outcome.status, outcome.gateway_payment_id) == (GatewayStatus.SUCCEEDED, retried)
    assert fake.capture_count(order.order_id) == 1


async def test_a_retried_refund_finds_its_earlier_post_past_the_first_page(
    fake: FakeRazorpay, gateway: RazorpayGateway
) -> None:
    payment_id, _, gateway_payment_id = await paid(gateway)
    earliest = uuid.uuid4()
    await gateway.refund(refund_request(payment_id, gateway_payment_id, 1, earliest))
    for _ in range(120):  # Razorpay lists the newest first: the earliest refund ends up on page 2
        await gateway.refund(refund_request(payment_id, gateway_payment_id, 1, uuid.uuid4()))

    again = await gateway.refund(refund_request(payment_id, gateway_payment_id, 1, earliest))

    assert again.status is GatewayStatus.SUCCEEDED
    assert len(fake.refunds(gateway_payment_id)) == 121
    assert sum(refund["amount"] for refund in fake.refunds(gateway_payment_id)) == 121
