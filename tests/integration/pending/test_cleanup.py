"""The cleanup service: stale pending payments expire on schedule, on an admin's demand or a customer's, and
admins see, stop and start it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from litestar_payguard.testing import ManualClock
from tests.integration.conftest import ADMIN, ALICE, BOB, Client, ClientFactory, Store, create_session, payguard_of
from tests.support import logged

ADMIN_BASE = "/payguard/admin"
STATS = f"{ADMIN_BASE}/cleanup/stats"
FORCE = f"{ADMIN_BASE}/cleanup/force"
NO_TICKS = {"stale_cleanup_cron": "0 0 1 1 *", "session_cleanup_cron": "0 0 1 1 *"}
"""Schedules that never fire during a test: SAQ ticks on the wall clock, and an extra run would change counts."""


async def _open(client: Client, count: int, **body: object) -> list[dict[str, object]]:
    """Sessions (and their pending payments) for ``count`` customers."""
    return [await create_session(client, headers={"X-Customer": f"c{index}"}, **body) for index in range(count)]


def _payment_ids(sessions: list[dict[str, object]]) -> list[str]:
    return [session["payment"]["id"] for session in sessions]  # type: ignore[index]


async def _statuses(store: Store) -> dict[str, str]:
    return {row["id"]: row["status"] for row in await store.rows("SELECT id::text, status FROM payguard_payment")}


async def test_an_admin_forces_a_run_that_expires_every_stale_payment_and_only_those(
    client: Client, store: Store, clock: ManualClock
) -> None:
    stale = await _open(client, 3)
    with_gateway = await create_session(client, headers=BOB)
    await store.execute(
        "UPDATE payguard_payment SET status = 'processing' WHERE id = :id", id=with_gateway["payment"]["id"]
    )
    clock.advance(31 * 60)
    fresh = await create_session(client, headers=ALICE)

    response = await client.post(FORCE, headers=ADMIN)

    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["trigger"], run["expired"], run["batches"], run["error"]) == ("manual", 3, 1, None)
    assert run["startedAt"] == run["finishedAt"] == "2026-03-01T12:31:00Z"
    assert run["durationMs"] == 0
    statuses = await _statuses(store)
    assert [statuses[payment_id] for payment_id in _payment_ids(stale)] == ["expired"] * 3
    # A payment the gateway has is never expired by age; a fresh one is left alone.
    assert statuses[with_gateway["payment"]["id"]] == "processing"
    assert statuses[fresh["payment"]["id"]] == "pending"
    assert await store.count("payguard_payment", "failure_code = 'stale'") == 3
    assert await store.event_types(_payment_ids(stale)[0]) == ["payment.created", "payment.expired"]
    recorded = await store.rows("SELECT trigger, expired_count, finished_at, error FROM payguard_cleanup_run")
    assert [(row["trigger"], row["expired_count"], row["error"]) for row in recorded] == [("manual", 3, None)]


async def test_the_expired_event_renders_the_payment_as_the_guard_does(
    client: Client, store: Store, clock: ManualClock
) -> None:
    clock.advance(0.123456)  # a timestamp with a fraction of a second renders with six digits
    by_cleanup = await create_session(client, headers=ALICE, metadata={"order": "A-1"}, planName="Gold")
    bare = await create_session(client, headers=ALICE)  # no plan, no metadata
    clock.advance(2 * 60 - 0.123456)  # and one without a fraction, none
    by_guard = await create_session(client, headers=BOB, bundleId="silver")
    clock.advance(29 * 60)
    forced = await client.post(FORCE, headers=ADMIN)  # bob's payment is 29 minutes old: not stale yet
    clock.advance(2 * 60)
    await create_session(client, headers=BOB, bundleId="silver")  # the guard expires bob's stale one

    async def payload(payment: dict[str, object], kind: str) -> dict[str, object]:
        (row,) = await store.rows(
            "SELECT payload FROM payguard_event WHERE subject_id = :id AND type = :type",
            id=payment["id"],
            type=f"payment.{kind}",
        )
        return dict(row["payload"])

    assert forced.json()["expired"] == 2
    changed = {"status": "expired", "failureCode": "stale", "failureMessage": None}
    for payment in (by_cleanup["payment"], bare["payment"], by_guard["payment"]):
        assert await payload(payment, "expired") == {**await payload(payment, "created"), **changed}
    assert (await payload(by_cleanup["payment"], "expired"))["metadata"] == {"order": "A-1"}
    assert (await payload(by_cleanup["payment"], "expired"))["createdAt"] == "2026-03-01T12:00:00.123456Z"
    assert (await payload(bare["payment"], "expired"))["planName"] is None
    assert (await payload(by_guard["payment"], "expired"))["createdAt"] == "2026-03-01T12:02:00Z"


async def test_stop_and_start_are_persisted_honoured_by_the_worker_and_visible_in_stats(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    async with client_for(run_worker_in_app=True, **NO_TICKS) as client:
        queue = payguard_of(client.app).queue
        before = (await client.get(STATS, headers=ADMIN)).json()
        assert (before["enabled"], before["health"], before["enabledChangedAt"]) == (True, "healthy", None)
        assert before["nextScheduledRun"] == "2027-01-01T00:00:00Z"
        assert before["schedule"] == "0 0 1 1 *"

        stopped = await client.post(f"{ADMIN_BASE}/cleanup/stop", headers=ADMIN)
        assert stopped.status_code == 200
        assert (stopped.json()["enabled"], stopped.json()["health"]) == (False, "stopped")
        await _open(client, 2)
        clock.advance(31 * 60)

        assert await queue.apply("expire_stale_payments", timeout=20) == 0
        stats = (await client.get(STATS, headers=ADMIN)).json()
        assert (stats["enabled"], stats["health"], stats["nextScheduledRun"]) == (False, "stopped", None)
        assert stats["enabledChangedAt"] == "2026-03-01T12:00:00Z"
        assert (stats["runs"], stats["stalePending"]) == (0, 2)
        assert await store.count("payguard_payment", "status = 'pending'") == 2

        started = await client.post(f"{ADMIN_BASE}/cleanup/start", headers=ADMIN)
        assert started.json()["enabled"] is True
        assert await queue.apply("expire_stale_payments", timeout=20) == 2

        stats = (await client.get(STATS, headers=ADMIN)).json()
    assert (stats["enabled"], stats["health"], stats["enabledChangedAt"]) == (True, "healthy", "2026-03-01T12:31:00Z")
    assert stats["nextScheduledRun"] == "2027-01-01T00:00:00Z"
    assert (stats["runs"], stats["paymentsExpired"], stats["errorCount"], stats["stalePending"]) == (1, 2, 0, 0)
    assert stats["byTrigger"] == {"cron": {"runs": 1, "expired": 2}}
    assert stats["lastRun"]["trigger"] == "cron"
    assert await store.count("payguard_job_control", "job = 'stale_cleanup' AND enabled") == 1


async def test_a_forced_run_works_while_stopped_and_stopping_twice_changes_nothing(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await client.post(f"{ADMIN_BASE}/cleanup/stop", headers=ADMIN)
    clock.advance(60)
    again = await client.post(f"{ADMIN_BASE}/cleanup/stop", headers=ADMIN)
    await _open(client, 1)
    clock.advance(31 * 60)

    forced = await client.post(FORCE, headers=ADMIN)

    assert again.json()["enabledChangedAt"] == "2026-03-01T12:00:00Z"
    assert forced.json()["expired"] == 1
    assert await store.count("payguard_job_control") == 1


async def test_a_customer_cleanup_is_recorded_as_a_customer_run(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await create_session(client, headers=ALICE)
    await create_session(client, headers=ALICE)
    await create_session(client, headers=BOB)
    clock.advance(31 * 60)

    response = await client.post("/payguard/pending/cleanup-stale", headers=ALICE)

    assert response.status_code == 200
    assert response.json()["expired"] == 2
    (run,) = await store.rows(
        "SELECT id::text, trigger, customer_id, expired_count, finished_at FROM payguard_cleanup_run"
    )
    assert (run["trigger"], run["customer_id"], run["expired_count"]) == ("customer", "alice", 2)
    assert response.json()["runId"] == run["id"]
    assert await store.count("payguard_payment", "status = 'pending' AND customer_id = 'bob'") == 1
    stats = (await client.get(STATS, headers=ADMIN)).json()
    assert stats["byTrigger"] == {"customer": {"runs": 1, "expired": 2}}
    assert stats["stalePending"] == 1


async def test_a_customer_cleanup_that_expires_nothing_records_no_run(client: Client, store: Store) -> None:
    await create_session(client, headers=ALICE)

    response = await client.post("/payguard/pending/cleanup-stale", headers=ALICE)

    assert response.json() == {"expired": 0, "runId": None}
    assert await store.count("payguard_cleanup_run") == 0


async def test_a_run_that_never_finished_shows_as_failing(client: Client, store: Store, clock: ManualClock) -> None:
    # What a worker killed mid-run leaves behind (tests/e2e/test_cleanup_worker_crash.py kills one for real).
    await store.execute(
        "INSERT INTO payguard_cleanup_run (id, trigger, started_at, expired_count, batches, created_at, updated_at) "
        "VALUES (gen_random_uuid(), 'cron', :started, 5, 1, :started, :started)",
        started=clock.now(),
    )
    clock.advance(29 * 60)
    assert (await client.get(STATS, headers=ADMIN)).json()["health"] == "healthy"

    clock.advance(2 * 60)
    stats = (await client.get(STATS, headers=ADMIN)).json()

    assert (stats["health"], stats["lastRun"]["finishedAt"], stats["lastRun"]["expired"]) == ("failing", None, 5)
    assert "never finished" in stats["healthDetail"]


async def test_a_large_run_logs_a_warning_and_writes_an_outbox_event(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    with logged("litestar_payguard.cleanup") as records:
        async with client_for(stale_cleanup_alert_threshold=3) as client:
            await _open(client, 4)
            clock.advance(31 * 60)
            run = (await client.post(FORCE, headers=ADMIN)).json()

    assert run["expired"] == 4
    assert any("expired 4 stale pending payments" in message for message in records.messages)
    (event,) = await store.rows(
        "SELECT merchant_id, subject_id::text, payload FROM payguard_event WHERE type = 'payguard.cleanup.large'"
    )
    assert event["merchant_id"] is None  # about the deployment, not a tenant
    assert event["subject_id"] == run["id"]
    assert event["payload"]["expired"] == 4


async def test_a_run_at_the_threshold_raises_no_alert(client: Client, store: Store, clock: ManualClock) -> None:
    await _open(client, 10)
    clock.advance(31 * 60)

    assert (await client.post(FORCE, headers=ADMIN)).json()["expired"] == 10
    assert await store.count("payguard_event", "type = 'payguard.cleanup.large'") == 0


async def test_the_job_expires_in_committed_batches(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    async with client_for(run_worker_in_app=True, stale_cleanup_batch_size=3, **NO_TICKS) as client:
        await _open(client, 8)
        clock.advance(31 * 60)

        expired = await payguard_of(client.app).queue.apply("expire_stale_payments", timeout=20)

    assert expired == 8
    (run,) = await store.rows("SELECT trigger, expired_count, batches FROM payguard_cleanup_run")
    assert (run["trigger"], run["expired_count"], run["batches"]) == ("cron", 8, 3)


async def test_concurrent_runs_never_expire_a_payment_twice_and_their_counts_add_up(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    async with client_for(
        run_worker_in_app=True, stale_cleanup_batch_size=4, worker_concurrency=4, **NO_TICKS
    ) as client:
        await _open(client, 60)
        clock.advance(31 * 60)
        queue = payguard_of(client.app).queue

        results = await asyncio.gather(
            *(queue.apply("expire_stale_payments", timeout=30) for _ in range(3)),
            client.post(FORCE, headers=ADMIN),
            client.post(FORCE, headers=ADMIN),
        )

    job_counts = list(results[:3])
    forced = [response.json()["expired"] for response in results[3:]]  # type: ignore[union-attr]
    assert sum(job_counts) + sum(forced) == 60
    assert await store.count("payguard_payment", "status = 'expired'") == 60
    assert await store.count("payguard_event", "type = 'payment.expired'") == 60
    assert (
        await store.scalar("SELECT count(DISTINCT subject_id) FROM payguard_event WHERE type = 'payment.expired'") == 60
    )
    assert await store.scalar("SELECT sum(expired_count) FROM payguard_cleanup_run") == 60
    assert await store.count("payguard_cleanup_run") == 5


@pytest.fixture
async def refuse_expiry(store: Store) -> AsyncIterator[None]:
    """A trigger failing any UPDATE to ``expired``: the database refusing the cleanup's work."""
    await store.execute(
        """
        CREATE FUNCTION payguard_test_refuse_expiry() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status = 'expired' THEN RAISE EXCEPTION 'expiry refused by the test'; END IF;
            RETURN NEW;
        END $$
        """
    )
    await store.execute(
        "CREATE TRIGGER payguard_test_refuse_expiry BEFORE UPDATE ON payguard_payment "
        "FOR EACH ROW EXECUTE FUNCTION payguard_test_refuse_expiry()"
    )
    try:
        yield
    finally:
        await store.execute("DROP TRIGGER IF EXISTS payguard_test_refuse_expiry ON payguard_payment")
        await store.execute("DROP FUNCTION IF EXISTS payguard_test_refuse_expiry()")


@pytest.mark.usefixtures("refuse_expiry")
async def test_a_failed_run_is_recorded_and_shown_as_failing(client: Client, store: Store, clock: ManualClock) -> None:
    await _open(client, 2)
    clock.advance(31 * 60)

    response = await client.post(FORCE, headers=ADMIN)

    assert response.status_code >= 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await store.count("payguard_payment", "status = 'pending'") == 2
    (run,) = await store.rows("SELECT expired_count, finished_at, error FROM payguard_cleanup_run")
    assert run["expired_count"] == 0
    assert run["finished_at"] is not None
    assert "expiry refused by the test" in run["error"]
    stats = (await client.get(STATS, headers=ADMIN)).json()
    assert (stats["health"], stats["errorCount"]) == ("failing", 1)
    assert "expiry refused by the test" in stats["lastError"]["message"]
    assert "expiry refused by the test" in stats["healthDetail"]


async def test_stats_say_lagging_when_a_payment_stays_stale_for_two_intervals(
    client: Client, clock: ManualClock
) -> None:
    await _open(client, 1)
    clock.advance(30 * 60 + 29 * 60)
    assert (await client.get(STATS, headers=ADMIN)).json()["health"] == "healthy"

    clock.advance(2 * 60)
    stats = (await client.get(STATS, headers=ADMIN)).json()

    assert stats["health"] == "lagging"
    assert "worker" in stats["healthDetail"]


async def test_pending_stats_count_the_merchants_open_payments_by_age(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await create_session(client, headers=ALICE)  # will be 40 minutes old: stale
    clock.advance(20 * 60)
    processing = await create_session(client, headers=BOB)  # 20 minutes old, with the gateway
    await store.execute(
        "UPDATE payguard_payment SET status = 'processing' WHERE id = :id", id=processing["payment"]["id"]
    )
    clock.advance(17 * 60)
    await create_session(client, headers=BOB)  # 3 minutes old
    done = await create_session(client, headers=ALICE)
    await client.post(f"/payguard/sessions/{done['id']}/cancel", headers=ALICE)
    clock.advance(3 * 60)

    response = await client.get(f"{ADMIN_BASE}/pending/stats", headers=ADMIN)

    assert response.status_code == 200, response.text
    stats = response.json()
    assert (stats["open"], stats["pending"], stats["processing"], stats["stale"]) == (3, 2, 1, 1)
    assert (stats["oldestAgeMinutes"], stats["staleAfterMinutes"]) == (40, 30)
    assert {bucket["label"]: bucket["count"] for bucket in stats["ageBuckets"]} == {
        "0-5m": 1,
        "5-15m": 0,
        "15-30m": 1,
        "30-60m": 1,
        "60-240m": 0,
        "240m+": 0,
    }


async def test_the_cleanup_admin_routes_need_the_admin_guard(client: Client) -> None:
    for method, path in (
        ("GET", STATS),
        ("POST", FORCE),
        ("POST", f"{ADMIN_BASE}/cleanup/stop"),
        ("POST", f"{ADMIN_BASE}/cleanup/start"),
        ("GET", f"{ADMIN_BASE}/pending/stats"),
    ):
        response = await client.request(method, path, headers=ALICE)
        assert response.status_code in (401, 403), (path, response.status_code)


async def test_an_alert_that_cannot_be_stored_never_leaves_the_run_open(
    client_for: ClientFactory, store: Store, clock: ManualClock
) -> None:
    # A database created before merchant_id became nullable, not migrated yet.
    await store.execute("ALTER TABLE payguard_event ALTER COLUMN merchant_id SET NOT NULL")
    try:
        async with client_for(stale_cleanup_alert_threshold=1) as client:
            await _open(client, 2)
            clock.advance(31 * 60)
            response = await client.post(FORCE, headers=ADMIN)
    finally:
        await store.execute("ALTER TABLE payguard_event ALTER COLUMN merchant_id DROP NOT NULL")

    assert response.status_code == 200, response.text
    assert (response.json()["expired"], response.json()["error"]) == (2, None)
    assert await store.count("payguard_cleanup_run", "finished_at IS NOT NULL AND expired_count = 2") == 1
    assert await store.count("payguard_event", "type = 'payguard.cleanup.large'") == 0
    assert await store.count("payguard_event", "type = 'payment.expired'") == 2
