"""Admin monitoring behind the host's guards."""

from __future__ import annotations

from litestar_payguard.services.merchants import MerchantService
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ADMIN, ALICE, BOB, Client, Store, create_session, payguard_of

ACTIVE = "/payguard/admin/sessions/active"


async def test_admins_list_open_sessions_with_age_attempt_interruption_and_customer(
    client: Client, store: Store, clock: ManualClock
) -> None:
    first = await create_session(client, headers=ALICE)
    clock.advance(10)
    second = await create_session(client, headers=BOB, bundleId="bundle-2")
    await client.post(f"/payguard/sessions/{second['id']}/interrupt", json={"kind": "unload"}, headers=BOB)
    done = await create_session(client, headers=BOB, bundleId="bundle-3")
    await client.post(f"/payguard/sessions/{done['id']}/cancel", headers=BOB)
    clock.advance(5)

    response = await client.get(ACTIVE, headers=ADMIN)

    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 2
    assert [item["id"] for item in page["items"]] == [first["id"], second["id"]]
    oldest, newest = page["items"]
    assert (oldest["customerId"], oldest["ageSeconds"], oldest["attempt"], oldest["status"]) == (
        "alice",
        15,
        1,
        "active",
    )
    assert oldest["lastInterruption"] is None
    assert (newest["customerId"], newest["ageSeconds"], newest["status"]) == ("bob", 5, "interrupted")
    assert newest["lastInterruption"]["kind"] == "unload"


async def test_the_list_reports_timed_out_attempts_and_leaves_out_expired_sessions(
    client: Client, store: Store, clock: ManualClock
) -> None:
    old = await create_session(client)
    clock.advance(14 * 60)
    young = await create_session(client, bundleId="bundle-2")
    clock.advance(2 * 60)  # the first session is now past its 15 minutes

    items = (await client.get(ACTIVE, headers=ADMIN)).json()["items"]

    assert [item["id"] for item in items] == [young["id"]]
    assert items[0]["status"] == "interrupted"
    assert items[0]["lastInterruption"]["kind"] == "timeout"
    assert await store.scalar("SELECT status FROM payguard_session WHERE id = :id", id=young["id"]) == "interrupted"
    assert await store.scalar("SELECT status FROM payguard_session WHERE id = :id", id=old["id"]) == "active"


async def test_the_list_is_paginated(client: Client, clock: ManualClock) -> None:
    ids = []
    for index in range(7):
        ids.append((await create_session(client, headers={"X-Customer": f"c{index}"}))["id"])
        clock.advance(1)

    page2 = (await client.get(ACTIVE, params={"currentPage": 2, "pageSize": 3}, headers=ADMIN)).json()
    page3 = (await client.get(ACTIVE, params={"currentPage": 3, "pageSize": 3}, headers=ADMIN)).json()

    assert (page2["total"], page2["limit"], page2["offset"]) == (7, 3, 3)
    assert [item["id"] for item in page2["items"]] == ids[3:6]
    assert [item["id"] for item in page3["items"]] == ids[6:]
    bad = await client.get(ACTIVE, params={"pageSize": 1000}, headers=ADMIN)
    assert (bad.status_code, bad.json()["code"]) == (422, "VALIDATION_FAILED")


async def test_customers_get_403_and_anonymous_callers_401(client: Client) -> None:
    await create_session(client)

    as_customer = await client.get(ACTIVE, headers={**ALICE, "X-Role": "customer"})
    anonymous = await client.get(ACTIVE)

    assert (as_customer.status_code, as_customer.json()["code"]) == (403, "FORBIDDEN")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "AUTHENTICATION_REQUIRED")
    assert "items" not in as_customer.text


async def test_admins_see_only_their_merchants_sessions(client: Client, store: Store) -> None:
    async with payguard_of(client.app).db_session() as db:
        await MerchantService(db).ensure("key_acme", secret="secret_acme")
        await db.commit()
    acme = {"X-Api-Key": "key_acme", "X-Api-Secret": "secret_acme"}
    own = await create_session(client, headers=ALICE)
    other = await create_session(client, headers={**ALICE, **acme})

    default_view = (await client.get(ACTIVE, headers=ADMIN)).json()
    acme_view = (await client.get(ACTIVE, headers={**ADMIN, **acme})).json()

    assert [item["id"] for item in default_view["items"]] == [own["id"]]
    assert [item["id"] for item in acme_view["items"]] == [other["id"]]


async def test_a_huge_page_number_is_a_validation_error(client: Client) -> None:
    response = await client.get(ACTIVE, params={"currentPage": 10**19}, headers=ADMIN)
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_FAILED")
