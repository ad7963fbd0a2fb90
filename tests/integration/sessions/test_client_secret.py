"""A session's client secret: a checkout page acts on that one session with it, without the host's sign-in."""

from __future__ import annotations

import logging
from uuid import UUID

import pytest

from litestar_payguard import SessionService
from litestar_payguard.principal import Principal
from litestar_payguard.schemas.sessions import SessionCreate
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ON_BOTH_DATABASES, Client, ClientFactory, Store, payguard_of
from tests.support import ALICE, BOB, create_session

BASE = "/payguard/sessions"
HEADER = "PayGuard-Client-Secret"


def page(secret: str) -> dict[str, str]:
    """What the checkout page sends: the secret, and no sign-in of the host."""
    return {HEADER: secret}


@ON_BOTH_DATABASES
async def test_a_new_session_comes_with_its_secret_and_a_page_url_carrying_it_in_the_fragment(
    client: Client, store: Store
) -> None:
    body = await create_session(client)

    secret = body["clientSecret"]
    assert secret.startswith("pgcs_")
    assert len(secret) >= 5 + 43  # 256 random bits, base64url
    assert body["checkoutUrl"] == f"http://testserver/payguard/checkout/{body['id']}#{secret}"
    assert "?" not in body["checkoutUrl"]
    (stored,) = await store.rows("SELECT client_secret_hash FROM payguard_session")
    assert stored["client_secret_hash"].startswith("sha256$")
    assert secret not in stored["client_secret_hash"]
    # Polling shows the session, never the secret again.
    polled = (await client.get(f"{BASE}/{body['id']}", headers=ALICE)).json()
    assert "clientSecret" not in polled
    assert secret not in str(polled)


@ON_BOTH_DATABASES
async def test_the_secret_alone_reads_and_drives_its_session(client: Client, store: Store) -> None:
    session = await create_session(client)
    url, secret = f"{BASE}/{session['id']}", session["clientSecret"]

    assert (await client.get(url, headers=page(secret))).json()["status"] == "active"
    interrupted = await client.post(f"{url}/interrupt", json={"kind": "network"}, headers=page(secret))
    assert interrupted.status_code == 200, interrupted.text
    assert interrupted.json()["lastInterruption"]["kind"] == "network"
    cancelled = await client.post(f"{url}/cancel", headers=page(secret))
    assert cancelled.status_code == 200, cancelled.text
    assert await store.scalar("SELECT status FROM payguard_session") == "cancelled"


@ON_BOTH_DATABASES
async def test_another_sessions_secret_or_a_wrong_one_is_not_found(client: Client, store: Store) -> None:
    mine = await create_session(client)
    theirs = await create_session(client, BOB)
    url = f"{BASE}/{mine['id']}"

    for secret in (theirs["clientSecret"], mine["clientSecret"] + "x", "pgcs_guess", "", "x" * 10_000):
        for response in (
            await client.get(url, headers=page(secret)),
            await client.post(f"{url}/cancel", headers=page(secret)),
        ):
            assert response.status_code == 404, (secret[:12], response.text)
            assert response.json()["code"] == "SESSION_NOT_FOUND"
    assert await store.scalar("SELECT count(*) FROM payguard_session WHERE status = 'cancelled'") == 0
    # A session's secret does not make its holder the customer elsewhere.
    response = await client.get("/payguard/pending", headers=page(mine["clientSecret"]))
    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_REQUIRED"


async def test_a_secret_in_the_query_string_opens_nothing(client: Client) -> None:
    session = await create_session(client)
    response = await client.get(f"{BASE}/{session['id']}", params={"clientSecret": session["clientSecret"]})
    assert response.status_code != 200
    assert session["clientSecret"] not in response.text


async def test_the_secret_is_never_in_a_log_line(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    session = await create_session(client)
    secret = session["clientSecret"]
    await client.get(f"{BASE}/{session['id']}", headers=page(secret))
    await client.get(f"{BASE}/{session['id']}", headers=page(secret + "x"))
    await client.post(f"{BASE}/{session['id']}/interrupt", json={"kind": "unload"}, headers=page(secret))

    assert caplog.records
    assert not [record for record in caplog.records if secret in record.getMessage()]


@pytest.mark.parametrize(("public_url", "origin"), [(None, ""), ("https://pay.example", "https://pay.example")])
async def test_the_python_api_opens_a_session_with_its_secret(
    client_for: ClientFactory, public_url: str | None, origin: str
) -> None:
    async with client_for(public_url=public_url) as client:
        payguard = payguard_of(client.app)
        merchant = await payguard.principals.default_merchant_id()
        async with payguard.db_session() as db:
            service = SessionService(db, payguard.config, Principal(merchant_id=merchant, customer_id="carol"))
            opened = await service.open(SessionCreate(bundle_id="pro", amount=4900, currency="USD"))
            await db.commit()

        assert opened.checkout_url == f"{origin}/payguard/checkout/{opened.id}#{opened.client_secret}"
        polled = await client.get(f"{BASE}/{opened.id}", headers=page(opened.client_secret))
        assert polled.status_code == 200, polled.text
        assert UUID(polled.json()["id"]) == opened.id


async def test_the_same_customers_other_session_is_not_opened_by_this_secret(client: Client) -> None:
    first = await create_session(client)
    second = await create_session(client)  # Alice again, another bundle
    for path in ("", "/summary"):
        response = await client.get(f"{BASE}/{second['id']}{path}", headers=page(first["clientSecret"]))
        assert response.status_code == 404, response.text
    resumed = await client.post(f"{BASE}/{second['id']}/resume", headers=page(first["clientSecret"]))
    assert resumed.status_code == 404


async def test_the_secret_opens_its_session_until_an_hour_after_it_ended(client: Client, clock: ManualClock) -> None:
    session = await create_session(client)
    url, secret = f"{BASE}/{session['id']}", session["clientSecret"]
    assert (await client.post(f"{url}/cancel", headers=page(secret))).status_code == 200

    clock.advance(59 * 60)
    assert (await client.get(url, headers=page(secret))).json()["status"] == "cancelled"  # the page shows the end
    clock.advance(61)
    assert (await client.get(url, headers=page(secret))).status_code == 404
    assert (await client.get(url, headers=ALICE)).status_code == 200  # the host's own sign-in still reads it


async def test_the_answer_holding_the_secret_is_not_cached(client: Client) -> None:
    response = await client.post(BASE, json={"bundleId": "pro", "amount": 4900, "currency": "USD"}, headers=ALICE)
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"


async def test_a_payguard_mounted_at_the_root_takes_the_secret_too(client_for: ClientFactory) -> None:
    async with client_for(path="/") as client:
        response = await client.post(
            "/sessions", json={"bundleId": "pro", "amount": 4900, "currency": "USD"}, headers=ALICE
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["checkoutUrl"] == f"http://testserver/checkout/{body['id']}#{body['clientSecret']}"
        polled = await client.get(f"/sessions/{body['id']}", headers=page(body["clientSecret"]))
        assert polled.status_code == 200, polled.text
