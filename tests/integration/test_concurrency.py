"""Concurrent requests on one session: the row lock lets exactly one transition win."""

from __future__ import annotations

import asyncio
from collections import Counter

from litestar_payguard import SimulatedGateway
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ALICE, ON_BOTH_DATABASES, Client, ClientFactory, Store, create_session
from tests.support import work_off

BASE = "/payguard/sessions"


@ON_BOTH_DATABASES
async def test_concurrent_resumes_start_exactly_one_new_attempt(
    client: Client, store: Store, clock: ManualClock
) -> None:
    session = await create_session(client)
    await client.post(f"{BASE}/{session['id']}/interrupt", json={"kind": "network"}, headers=ALICE)
    clock.advance(3)

    responses = await asyncio.gather(*(client.post(f"{BASE}/{session['id']}/resume", headers=ALICE) for _ in range(20)))

    outcomes = Counter(
        (r.status_code, r.json().get("code") if r.status_code != 200 else r.json()["attempt"]) for r in responses
    )
    assert outcomes == {(200, 2): 1, (409, "RETRY_TOO_SOON"): 19}
    assert await store.scalar("SELECT attempt FROM payguard_session") == 2
    assert await store.count("payguard_session_event", "type = 'resumed'") == 1


@ON_BOTH_DATABASES
async def test_concurrent_completes_capture_once(client_for: ClientFactory, store: Store) -> None:
    gateway = SimulatedGateway()
    async with client_for(test_gateway=gateway) as client:
        session = await create_session(client)

        responses = await asyncio.gather(
            *(
                client.post(f"{BASE}/{session['id']}/complete", json={"gatewayPaymentId": "pay_1"}, headers=ALICE)
                for _ in range(15)
            )
        )
        await work_off(client.app)
        final = (await client.get(f"{BASE}/{session['id']}", headers=ALICE)).json()

    assert {r.status_code for r in responses} == {200}
    assert {r.json()["payment"]["status"] for r in responses} == {"processing"}
    assert final["status"] == "completed"
    assert gateway.charges == {session["payment"]["id"]: 1}
    assert await store.count("payguard_session_event", "type = 'submitted'") == 1
    assert await store.count("payguard_event", "type = 'payment.succeeded'") == 1
    assert await store.count("payguard_session_event", "type = 'completed'") == 1


@ON_BOTH_DATABASES
async def test_complete_racing_cancel_ends_in_exactly_one_terminal_state(client: Client, store: Store) -> None:
    session = await create_session(client)
    sid = session["id"]
    calls = []
    for index in range(16):
        if index % 2:
            calls.append(client.post(f"{BASE}/{sid}/cancel", headers=ALICE))
        else:
            calls.append(client.post(f"{BASE}/{sid}/complete", json={"gatewayPaymentId": "pay_r"}, headers=ALICE))

    responses = await asyncio.gather(*calls)
    await work_off(client.app)

    final = await store.scalar("SELECT status FROM payguard_session")
    assert final in {"completed", "cancelled"}
    # Whichever came first wins: a submitted payment cannot be cancelled; a cancelled session cannot be paid.
    loser_code = "PAYMENT_PROCESSING" if final == "completed" else "SESSION_CANCELLED"
    for response in responses:
        assert response.status_code in {200, 409}
        if response.status_code == 409:
            assert response.json()["code"] == loser_code
    payment = await store.scalar("SELECT status FROM payguard_payment")
    assert payment == ("succeeded" if final == "completed" else "cancelled")
    assert await store.count("payguard_session_event", "type IN ('completed', 'cancelled')") == 1


@ON_BOTH_DATABASES
async def test_concurrent_polls_record_a_timeout_once(client: Client, store: Store, clock: ManualClock) -> None:
    session = await create_session(client)
    clock.advance(40)

    responses = await asyncio.gather(*(client.get(f"{BASE}/{session['id']}", headers=ALICE) for _ in range(30)))

    assert {r.json()["status"] for r in responses} == {"interrupted"}
    assert await store.count("payguard_session_event", "type = 'interrupted'") == 1
    assert await store.count("payguard_event", "type = 'session.interrupted'") == 1
