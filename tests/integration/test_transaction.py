"""The transaction boundary: a 2xx only for committed data; infrastructure down is a 503."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from litestar_payguard.testing.servers import Server
from tests.integration.conftest import ALICE, ON_SQLITE, Client, ClientFactory, Store, create_session

BASE = "/payguard/sessions"


@pytest.fixture
async def commit_fails_on_new_sessions(store: Store) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """A deferred constraint trigger: the INSERT succeeds, the COMMIT raises. Yields a way to remove it."""
    await store.execute(
        """
        CREATE FUNCTION payguard_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused at commit'; END $$
        """
    )
    await store.execute(
        """
        CREATE CONSTRAINT TRIGGER payguard_test_refuse AFTER INSERT ON payguard_session
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payguard_test_refuse()
        """
    )

    async def disarm() -> None:
        await store.execute("DROP TRIGGER IF EXISTS payguard_test_refuse ON payguard_session")
        await store.execute("DROP FUNCTION IF EXISTS payguard_test_refuse()")

    try:
        yield disarm
    finally:
        await disarm()


async def test_a_failed_commit_answers_503_and_stores_nothing(
    client: Client, store: Store, commit_fails_on_new_sessions: object
) -> None:
    response = await client.post(BASE, json={"bundleId": "b"}, headers=ALICE)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "COMMIT_FAILED"
    assert "refused at commit" not in response.text
    for table in ("payguard_session", "payguard_payment", "payguard_event", "payguard_session_event"):
        assert await store.count(table) == 0


async def test_the_app_keeps_working_after_a_failed_commit(
    client: Client, store: Store, commit_fails_on_new_sessions: Callable[[], Awaitable[None]]
) -> None:
    failed = await client.post(BASE, json={"bundleId": "b"}, headers=ALICE)
    assert failed.status_code == 503
    await commit_fails_on_new_sessions()

    created = await client.post(BASE, json={"bundleId": "b"}, headers=ALICE)

    assert created.status_code == 201
    assert await store.count("payguard_session") == 1


async def test_an_error_that_records_a_change_commits_it(client: Client, store: Store) -> None:
    """MAX_ATTEMPTS_REACHED is a 409 whose state change (failed) must be stored, not rolled back."""
    session = await create_session(client, headers=ALICE)
    await store.execute("UPDATE payguard_session SET attempt = 3, status = 'interrupted', interrupted_at = created_at")

    response = await client.post(f"{BASE}/{session['id']}/resume", headers=ALICE)

    assert response.json()["code"] == "MAX_ATTEMPTS_REACHED"
    assert await store.scalar("SELECT status FROM payguard_session") == "failed"


async def test_a_refusal_without_a_change_rolls_back(client: Client, store: Store) -> None:
    session = await create_session(client, headers=ALICE)
    await client.post(f"{BASE}/{session['id']}/interrupt", json={"kind": "network"}, headers=ALICE)
    events = await store.count("payguard_event")

    response = await client.post(f"{BASE}/{session['id']}/resume", headers=ALICE)

    assert response.json()["code"] == "RETRY_TOO_SOON"
    assert await store.count("payguard_event") == events


async def test_database_down_answers_503_not_a_traceback(client_for: ClientFactory, redis_server: Server) -> None:
    async with client_for(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none") as client:
        response = await client.post(BASE, json={"bundleId": "b"}, headers=ALICE)
        status = await client.get(f"{BASE}/6f1c8a3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f", headers=ALICE)

    for answer in (response, status):
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["code"] == "SERVICE_UNAVAILABLE"
        assert "Traceback" not in answer.text


async def test_the_app_starts_serves_and_stops_with_redis_down(client_for: ClientFactory, store: Store) -> None:
    """Redis is only needed by jobs: requests still work, and shutdown does not crash."""
    async with client_for(queue_url="redis://127.0.0.1:9/0") as client:
        response = await client.post(BASE, json={"bundleId": "b"}, headers=ALICE)
    assert response.status_code == 201


@ON_SQLITE
async def test_a_sqlite_file_another_process_holds_answers_503_and_changes_nothing(
    client_for: ClientFactory, sqlite_url: str, store: Store
) -> None:
    body = {"bundleId": "gold", "amount": 4900, "currency": "USD"}
    # The host's own busy timeout (here in the URL) stays: a short one, so the requests give up quickly.
    async with client_for(database_url=f"{sqlite_url}?timeout=0.1") as client:
        session = await create_session(client)
        writer = sqlite3.connect(sqlite_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # another process writing, and slow to commit
        try:
            created = await client.post(BASE, json=body, headers=ALICE)
            keyed = await client.post(BASE, json=body, headers={**ALICE, "Idempotency-Key": "locked"})
            interrupted = await client.post(
                f"{BASE}/{session['id']}/interrupt", json={"kind": "network"}, headers=ALICE
            )
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        retried = await client.post(BASE, json=body, headers={**ALICE, "Idempotency-Key": "locked"})

    for answer in (created, keyed, interrupted):
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["code"] == "SERVICE_UNAVAILABLE"
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert await store.count("payguard_session") == 2
    assert await store.count("payguard_session_event", "type = 'interrupted'") == 0
