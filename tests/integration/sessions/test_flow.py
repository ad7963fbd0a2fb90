"""The checkout-session lifecycle over HTTP, against real Postgres and Redis."""

from __future__ import annotations

from datetime import timedelta

import httpx

from litestar_payguard import Price, SimulatedGateway
from litestar_payguard.gateways import DECLINED_PAYMENT_PREFIX, ChargeRequest, PaymentOutcome
from litestar_payguard.gateways.razorpay import RazorpayGateway
from litestar_payguard.testing import ManualClock
from tests.hostapp import set_price
from tests.integration.conftest import ALICE, ON_BOTH_DATABASES, Client, ClientFactory, Store, create_session
from tests.support import work_off

BASE = "/payguard/sessions"


async def test_create_answers_201_with_the_session_and_its_payment(client: Client, store: Store) -> None:
    body = await create_session(client, planName="Pro", metadata={"cart": "c-1"})

    assert body["status"] == "active"
    assert body["attempt"] == 1
    assert body["maxAttempts"] == 3
    assert body["attemptDeadline"] == "2026-03-01T12:00:30Z"
    assert body["expiresAt"] == "2026-03-01T12:15:00Z"
    assert body["pollIntervalMs"] == 2000
    assert body["planName"] == "Pro"
    assert body["metadata"] == {"cart": "c-1"}
    assert body["payment"] == {
        "id": body["payment"]["id"],
        "amount": 4900,
        "currency": "USD",
        "status": "pending",
        "gatewayPaymentId": None,
        "failureCode": None,
    }
    stored = await store.rows("SELECT status, attempt, customer_id FROM payguard_session")
    assert stored == [{"status": "active", "attempt": 1, "customer_id": "alice"}]
    assert await store.scalar("SELECT amount FROM payguard_payment") == 4900
    assert await store.event_types(body["id"]) == ["session.created"]
    assert await store.event_types(body["payment"]["id"]) == ["payment.created"]
    assert await store.count("payguard_session_event", "type = 'created' AND attempt = 1") == 1


async def test_lowercase_currency_is_stored_upper_case(client: Client) -> None:
    set_price(client.app, "rupees", Price(4900, "inr"))  # the host's catalogue may say it in lower case too
    body = await create_session(client, bundleId="rupees", currency="inr")
    assert body["payment"]["currency"] == "INR"


async def test_status_reports_a_passed_deadline_as_a_stored_timeout(
    client: Client, store: Store, clock: ManualClock
) -> None:
    session = await create_session(client)
    clock.advance(29)
    assert (await client.get(f"{BASE}/{session['id']}", headers=ALICE)).json()["status"] == "active"

    clock.advance(5)
    body = (await client.get(f"{BASE}/{session['id']}", headers=ALICE)).json()

    assert body["status"] == "interrupted"
    assert body["lastInterruption"]["kind"] == "timeout"
    assert body["lastInterruption"]["at"] == "2026-03-01T12:00:30Z"
    assert await store.scalar("SELECT status FROM payguard_session") == "interrupted"
    assert await store.count("payguard_session_event", "type = 'interrupted' AND kind = 'timeout'") == 1
    # Polling again changes nothing more.
    await client.get(f"{BASE}/{session['id']}", headers=ALICE)
    assert await store.count("payguard_session_event", "type = 'interrupted'") == 1
    assert await store.event_types(session["id"]) == ["session.created", "session.interrupted"]


async def test_interrupt_then_resume_starts_the_next_attempt_with_a_fresh_deadline(
    client: Client, store: Store, clock: ManualClock
) -> None:
    session = await create_session(client)
    clock.advance(5)
    interrupted = await client.post(
        f"{BASE}/{session['id']}/interrupt", json={"kind": "network", "detail": "offline"}, headers=ALICE
    )
    assert interrupted.status_code == 200
    assert interrupted.json()["status"] == "interrupted"
    assert interrupted.json()["lastInterruption"]["kind"] == "network"

    clock.advance(2)
    resumed = await client.post(f"{BASE}/{session['id']}/resume", headers=ALICE)

    assert resumed.status_code == 200
    body = resumed.json()
    assert body["status"] == "active"
    assert body["attempt"] == 2
    assert body["attemptDeadline"] == "2026-03-01T12:00:37Z"
    assert await store.event_types(session["id"]) == ["session.created", "session.interrupted", "session.resumed"]


async def test_resume_within_the_retry_delay_is_refused_with_retry_after(
    client: Client, store: Store, clock: ManualClock
) -> None:
    session = await create_session(client)
    await client.post(f"{BASE}/{session['id']}/interrupt", json={"kind": "unload"}, headers=ALICE)
    clock.advance(0.5)

    response = await client.post(f"{BASE}/{session['id']}/resume", headers=ALICE)

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "2"
    assert response.json()["code"] == "RETRY_TOO_SOON"
    assert response.json()["retryAfterSeconds"] == 2
    assert await store.scalar("SELECT attempt FROM payguard_session") == 1


@ON_BOTH_DATABASES
async def test_retry_at_says_when_resume_may_start_the_next_attempt(
    client: Client, store: Store, clock: ManualClock
) -> None:
    session = await create_session(client)
    url = f"{BASE}/{session['id']}"
    assert session["retryAt"] == "2026-03-01T12:00:02Z"  # superseding the running attempt: 2 s after its start

    clock.advance(5)
    interrupted = (await client.post(f"{url}/interrupt", json={"kind": "network"}, headers=ALICE)).json()
    assert interrupted["retryAt"] == "2026-03-01T12:00:07Z"  # 2 s after the interruption
    clock.advance(1)
    refused = await client.post(f"{url}/resume", headers=ALICE)
    assert (refused.status_code, refused.json()["retryAfterSeconds"]) == (409, 1)  # the server agrees
    clock.advance(1)
    second = (await client.post(f"{url}/resume", headers=ALICE)).json()
    assert (second["attempt"], second["retryAt"]) == (2, "2026-03-01T12:00:09Z")
    clock.advance(2)
    third = (await client.post(f"{url}/resume", headers=ALICE)).json()
    assert (third["attempt"], third["retryAt"]) == (3, None)  # the last attempt: nothing to retry after it
    assert (await client.get(url, headers=ALICE)).json()["retryAt"] is None
    assert await store.scalar("SELECT attempt FROM payguard_session") == 3


async def test_a_fourth_attempt_is_refused_and_fails_the_session_and_payment(
    client: Client, store: Store, clock: ManualClock
) -> None:
    """create → interrupt → resume → resume → a 4th attempt refused."""
    session = await create_session(client)
    sid = session["id"]
    await client.post(f"{BASE}/{sid}/interrupt", json={"kind": "timeout"}, headers=ALICE)
    clock.advance(2)
    assert (await client.post(f"{BASE}/{sid}/resume", headers=ALICE)).json()["attempt"] == 2
    clock.advance(2)
    assert (await client.post(f"{BASE}/{sid}/resume", headers=ALICE)).json()["attempt"] == 3
    clock.advance(2)

    while_running = await client.post(f"{BASE}/{sid}/resume", headers=ALICE)

    # Attempt 3 is still running and may yet be paid at the gateway: refused, nothing failed.
    assert (while_running.status_code, while_running.json()["code"]) == (409, "MAX_ATTEMPTS_REACHED")
    assert set(while_running.json()["actions"]) == {"cancel", "startNew"}
    assert await store.scalar("SELECT status FROM payguard_session") == "active"
    assert await store.scalar("SELECT status FROM payguard_payment") == "pending"

    await client.post(f"{BASE}/{sid}/interrupt", json={"kind": "network"}, headers=ALICE)
    clock.advance(2)
    refused = await client.post(f"{BASE}/{sid}/resume", headers=ALICE)

    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "MAX_ATTEMPTS_REACHED"
    assert problem["actions"]["startNew"] == {
        "method": "POST",
        "url": "/payguard/sessions",
        "label": "Start a new checkout",
    }
    assert await store.scalar("SELECT status FROM payguard_session") == "failed"
    assert await store.scalar("SELECT status FROM payguard_payment") == "failed"
    assert await store.scalar("SELECT failure_code FROM payguard_payment") == "max_attempts_reached"
    assert (await store.event_types(session["payment"]["id"]))[-1] == "payment.failed"
    # Failed is terminal: every later transition is refused with its code.
    again = await client.post(f"{BASE}/{sid}/resume", headers=ALICE)
    assert again.json()["code"] == "SESSION_FAILED"
    completed = await client.post(f"{BASE}/{sid}/complete", json={"gatewayPaymentId": "pay_x"}, headers=ALICE)
    assert (completed.status_code, completed.json()["code"]) == (409, "SESSION_FAILED")


async def test_resuming_an_active_attempt_supersedes_it(client: Client, store: Store, clock: ManualClock) -> None:
    session = await create_session(client)
    clock.advance(1)
    assert (await client.post(f"{BASE}/{session['id']}/resume", headers=ALICE)).json()["code"] == "RETRY_TOO_SOON"
    clock.advance(1)

    body = (await client.post(f"{BASE}/{session['id']}/resume", headers=ALICE)).json()

    assert body["attempt"] == 2
    assert body["lastInterruption"]["kind"] == "user"
    assert await store.count("payguard_session_event", "type = 'interrupted' AND attempt = 1") == 1


async def test_complete_succeeds_the_session_and_payment_and_repeats_change_nothing(
    client: Client, store: Store
) -> None:
    session = await create_session(client)

    first = await client.post(f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "pay_123"}, headers=ALICE)

    assert first.status_code == 200
    assert (first.json()["status"], first.json()["payment"]["status"]) == ("active", "processing")
    assert await work_off(client.app) == 1
    done = (await client.get(f"{BASE}/{session['id']}", headers=ALICE)).json()
    assert done["status"] == "completed"
    assert done["payment"]["status"] == "succeeded"
    assert done["payment"]["gatewayPaymentId"] == "pay_123"
    events_after_first = await store.count("payguard_event")
    session_events = await store.count("payguard_session_event")

    second = await client.post(f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "pay_123"}, headers=ALICE)

    assert second.status_code == 200
    assert second.json() == done
    assert await work_off(client.app) == 0
    assert await store.count("payguard_event") == events_after_first
    assert await store.count("payguard_session_event") == session_events
    assert await store.event_types(session["payment"]["id"]) == [
        "payment.created",
        "payment.processing",
        "payment.succeeded",
    ]
    other = await client.post(f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "pay_999"}, headers=ALICE)
    assert (other.status_code, other.json()["code"]) == (409, "SESSION_COMPLETED")
    assert await store.scalar("SELECT gateway_payment_id FROM payguard_payment") == "pay_123"


async def test_a_late_success_after_a_timeout_still_completes(client: Client, clock: ManualClock) -> None:
    session = await create_session(client)
    clock.advance(45)
    response = await client.post(
        f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "pay_late"}, headers=ALICE
    )
    assert response.json()["payment"]["status"] == "processing"
    clock.advance(20 * 60)  # neither the expiry nor the deadline gives up a payment the gateway is confirming
    assert (await client.get(f"{BASE}/{session['id']}", headers=ALICE)).json()["status"] == "interrupted"
    await work_off(client.app)
    assert (await client.get(f"{BASE}/{session['id']}", headers=ALICE)).json()["status"] == "completed"


async def test_a_declined_payment_interrupts_the_attempt_with_ways_out(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    async with client_for(test_gateway=SimulatedGateway(outcome="failure")) as client:
        session = await create_session(client)
        response = await client.post(
            f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "pay_declined"}, headers=ALICE
        )
        await work_off(client.app)
        status = (await client.get(f"{BASE}/{session['id']}", headers=ALICE)).json()
        clock.advance(2)  # the minimum delay before a retry
        resumed = await client.post(f"{BASE}/{session['id']}/resume", headers=ALICE)

    assert response.status_code == 200
    assert status["status"] == "interrupted"
    assert status["lastInterruption"]["kind"] == "gateway"
    assert status["payment"]["status"] == "pending"
    assert status["payment"]["failureCode"] == "card_declined"
    assert (resumed.status_code, resumed.json()["attempt"]) == (200, 2)
    assert await store.scalar("SELECT interrupt_kind FROM payguard_session") == "gateway"
    assert await store.event_types(session["payment"]["id"]) == [
        "payment.created",
        "payment.processing",
        "payment.pending",
    ]


async def test_a_declined_attempt_then_a_paid_one_completes_the_session(
    client: Client, store: Store, clock: ManualClock
) -> None:
    session = await create_session(client)
    url = f"{BASE}/{session['id']}"
    await client.post(f"{url}/order", headers=ALICE)
    await client.post(f"{url}/complete", json={"gatewayPaymentId": f"{DECLINED_PAYMENT_PREFIX}1"}, headers=ALICE)
    await work_off(client.app)
    declined = (await client.get(url, headers=ALICE)).json()
    clock.advance(2)
    await client.post(f"{url}/resume", headers=ALICE)
    await client.post(f"{url}/complete", json={"gatewayPaymentId": "sim_pay_2"}, headers=ALICE)
    await work_off(client.app)
    paid = (await client.get(url, headers=ALICE)).json()

    assert (declined["status"], declined["payment"]["failureCode"]) == ("interrupted", "card_declined")
    assert (paid["status"], paid["attempt"], paid["payment"]["status"]) == ("completed", 2, "succeeded")
    assert paid["payment"]["gatewayPaymentId"] == "sim_pay_2"
    assert await store.event_types(session["payment"]["id"]) == [
        "payment.created",
        "payment.processing",
        "payment.pending",
        "payment.processing",
        "payment.succeeded",
    ]


async def test_a_bad_checkout_signature_is_refused_and_changes_nothing(client_for: ClientFactory, store: Store) -> None:
    gateway = RazorpayGateway("rzp_test_key", "key-secret", "hook-secret", base_url="http://127.0.0.1:9")
    async with client_for(test_gateway=gateway) as client:
        session = await create_session(client)
        events = await store.count("payguard_event")
        response = await client.post(
            f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "pay_x", "signature": "f" * 64}, headers=ALICE
        )

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_SIGNATURE")
    assert await store.scalar("SELECT status FROM payguard_payment") == "pending"
    assert await store.count("payguard_event") == events


async def test_cancel_cancels_session_and_payment_and_is_repeatable(client: Client, store: Store) -> None:
    session = await create_session(client)

    first = await client.post(f"{BASE}/{session['id']}/cancel", headers=ALICE)
    second = await client.post(f"{BASE}/{session['id']}/cancel", headers=ALICE)

    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "cancelled"
    assert first.json()["payment"]["status"] == "cancelled"
    assert second.json() == first.json()
    assert await store.count("payguard_session_event", "type = 'cancelled'") == 1
    refused = await client.post(f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "p"}, headers=ALICE)
    assert (refused.status_code, refused.json()["code"]) == (409, "SESSION_CANCELLED")
    interrupted = await client.post(f"{BASE}/{session['id']}/interrupt", json={"kind": "user"}, headers=ALICE)
    assert interrupted.json()["code"] == "SESSION_CANCELLED"


async def test_cancelling_a_completed_session_is_refused(client: Client, store: Store) -> None:
    session = await create_session(client)
    await client.post(f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "p1"}, headers=ALICE)
    processing = await client.post(f"{BASE}/{session['id']}/cancel", headers=ALICE)
    assert (processing.status_code, processing.json()["code"]) == (409, "PAYMENT_PROCESSING")
    await work_off(client.app)

    response = await client.post(f"{BASE}/{session['id']}/cancel", headers=ALICE)

    assert (response.status_code, response.json()["code"]) == (409, "SESSION_COMPLETED")
    assert await store.scalar("SELECT status FROM payguard_payment") == "succeeded"


async def test_interrupting_an_interrupted_attempt_is_refused(client: Client) -> None:
    session = await create_session(client)
    await client.post(f"{BASE}/{session['id']}/interrupt", json={"kind": "network"}, headers=ALICE)

    response = await client.post(f"{BASE}/{session['id']}/interrupt", json={"kind": "unload"}, headers=ALICE)

    assert (response.status_code, response.json()["code"]) == (409, "SESSION_NOT_ACTIVE")
    assert set(response.json()["actions"]) == {"resume", "cancel"}


async def test_a_session_past_its_expiry_is_expired_and_refuses_everything(
    client: Client, store: Store, clock: ManualClock
) -> None:
    session = await create_session(client)
    clock.advance(15 * 60)

    status = (await client.get(f"{BASE}/{session['id']}", headers=ALICE)).json()
    resume = await client.post(f"{BASE}/{session['id']}/resume", headers=ALICE)
    complete = await client.post(f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "p"}, headers=ALICE)

    assert status["status"] == "expired"
    assert status["payment"]["status"] == "cancelled"
    assert (resume.status_code, resume.json()["code"]) == (409, "SESSION_EXPIRED")
    assert (complete.status_code, complete.json()["code"]) == (409, "SESSION_EXPIRED")
    assert await store.event_types(session["id"]) == ["session.created", "session.interrupted", "session.expired"]


async def test_resume_noticing_the_expiry_stores_it_with_the_409(
    client: Client, store: Store, clock: ManualClock
) -> None:
    session = await create_session(client)
    await client.post(f"{BASE}/{session['id']}/interrupt", json={"kind": "network"}, headers=ALICE)
    clock.advance(16 * 60)

    response = await client.post(f"{BASE}/{session['id']}/resume", headers=ALICE)

    assert response.json()["code"] == "SESSION_EXPIRED"
    assert await store.scalar("SELECT status FROM payguard_session") == "expired"
    assert await store.scalar("SELECT status FROM payguard_payment") == "cancelled"


async def test_summary_reports_attempts_interruptions_and_outcome(client: Client, clock: ManualClock) -> None:
    session = await create_session(client)
    sid = session["id"]
    clock.advance(31)  # attempt 1 times out at 30 s
    await client.get(f"{BASE}/{sid}", headers=ALICE)
    clock.advance(4)
    await client.post(f"{BASE}/{sid}/resume", headers=ALICE)  # attempt 2 at 35 s
    clock.advance(10)
    await client.post(f"{BASE}/{sid}/interrupt", json={"kind": "network"}, headers=ALICE)  # 45 s
    clock.advance(5)
    await client.post(f"{BASE}/{sid}/resume", headers=ALICE)  # attempt 3 at 50 s
    clock.advance(8)
    await client.post(f"{BASE}/{sid}/complete", json={"gatewayPaymentId": "pay_ok"}, headers=ALICE)  # 58 s
    await work_off(client.app)

    summary = (await client.get(f"{BASE}/{sid}/summary", headers=ALICE)).json()

    assert summary["outcome"] == "completed"
    assert summary["interruptions"] == {"timeout": 1, "network": 1, "gateway": 0, "unload": 0, "user": 0}
    assert summary["totalInterruptions"] == 2
    assert summary["totalDurationMs"] == 58_000
    assert [(a["number"], a["outcome"], a["interruptionKind"], a["durationMs"]) for a in summary["attempts"]] == [
        (1, "interrupted", "timeout", 30_000),
        (2, "interrupted", "network", 10_000),
        (3, "completed", None, 8_000),
    ]
    assert summary["attempts"][1]["startedAt"] == "2026-03-01T12:00:35Z"
    assert summary["attempts"][1]["endedAt"] == "2026-03-01T12:00:45Z"


async def test_each_outbox_event_shows_the_session_after_its_own_transition(
    client: Client, store: Store, clock: ManualClock
) -> None:
    session = await create_session(client)
    clock.advance(3)
    await client.post(f"{BASE}/{session['id']}/resume", headers=ALICE)  # supersedes attempt 1
    clock.advance(20 * 60)
    await client.get(f"{BASE}/{session['id']}", headers=ALICE)  # attempt 2 timed out, then the session expired

    rows = await store.rows(
        "SELECT type, payload FROM payguard_event WHERE subject_id = :id ORDER BY occurred_at, created_at, type",
        id=session["id"],
    )
    shown = [(row["type"], row["payload"]["status"], row["payload"]["attempt"]) for row in rows]
    assert shown == [
        ("session.created", "active", 1),
        ("session.interrupted", "interrupted", 1),
        ("session.resumed", "active", 2),
        ("session.interrupted", "interrupted", 2),
        ("session.expired", "expired", 2),
    ]
    expired = rows[-1]["payload"]
    assert expired["endedAt"] == "2026-03-01T12:15:00Z"
    assert rows[-2]["payload"]["endedAt"] is None
    assert rows[-2]["payload"]["lastInterruption"]["kind"] == "timeout"
    payment = await store.rows(
        "SELECT payload FROM payguard_event WHERE type = 'payment.cancelled' AND subject_id = :id",
        id=session["payment"]["id"],
    )
    assert payment[0]["payload"]["status"] == "cancelled"


class UnreachableGateway(SimulatedGateway):
    """A gateway adapter whose gateway is down: a real connection to a closed port."""

    name = "unreachable"

    async def charge(self, request: ChargeRequest) -> PaymentOutcome:
        async with httpx.AsyncClient() as http:
            await http.post("http://127.0.0.1:9/charge", json={})
        raise AssertionError("unreachable")


async def test_an_unreachable_gateway_leaves_the_payment_processing_and_retries_later(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    async with client_for(test_gateway=UnreachableGateway()) as client:
        session = await create_session(client)
        await client.post(f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "p"}, headers=ALICE)
        await work_off(client.app)
        status = (await client.get(f"{BASE}/{session['id']}", headers=ALICE)).json()

    assert (status["status"], status["payment"]["status"]) == ("active", "processing")
    row = (await store.rows("SELECT process_at, process_attempts FROM payguard_payment"))[0]
    assert row["process_attempts"] == 1
    assert row["process_at"] == clock.now() + timedelta(seconds=10)  # gateway_retry_seconds
    assert await store.count("payguard_event", "type = 'payment.succeeded'") == 0
