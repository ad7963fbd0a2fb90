"""Prometheus metrics: each state change counts once, when it commits; the demo and the workers expose them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import msgspec

from demo_app import create_app
from demo_app.settings import DemoSettings
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.testing import ManualClock
from litestar_payguard.testing.servers import Server
from tests.integration.conftest import ALICE, ON_BOTH_DATABASES, Client, create_session, payguard_of
from tests.integration.test_payments_api import PAYMENTS, create_payment, keyed, payment_body, seed_merchants
from tests.support import ADMIN, Counts, serve, work_off


def transitions(change: str) -> tuple[str, dict[str, str]]:
    return "payguard_payment_transitions_total", {"change": change}


def gateway(operation: str, outcome: str = "ok") -> tuple[str, dict[str, str]]:
    return "payguard_gateway_calls_total", {"gateway": "simulated", "operation": operation, "outcome": outcome}


@ON_BOTH_DATABASES  # Postgres takes the processor's one-statement steps, SQLite its ORM path: both count once
async def test_a_payment_and_its_refund_count_each_change_and_gateway_call_once(client: Client) -> None:
    await seed_merchants(client)
    counts = Counts(
        transitions("created"),
        transitions("processing"),
        transitions("succeeded"),
        transitions("partially_refunded"),
        ("payguard_refunds_total", {"change": "created"}),
        ("payguard_refunds_total", {"change": "processed"}),
        gateway("create_order"),
        gateway("charge"),
        gateway("refund"),
        ("payguard_gateway_call_duration_seconds_count", {"gateway": "simulated", "operation": "charge"}),
        ("payguard_idempotency_requests_total", {"outcome": "claimed"}),
    )

    payment = await create_payment(client, amount=5000)
    await work_off(client.app)
    refund = await client.post(f"{PAYMENTS}/{payment['id']}/refunds", json={"amount": 1000}, headers=keyed())
    assert refund.status_code == 201, refund.text
    await work_off(client.app)

    assert counts.deltas() == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]


async def test_idempotent_replays_and_reused_keys_are_counted(client: Client) -> None:
    await seed_merchants(client)
    headers, body = keyed(), payment_body()
    counts = Counts(*(("payguard_idempotency_requests_total", {"outcome": o}) for o in ("replayed", "key_reused")))

    first = await client.post(PAYMENTS, json=body, headers=headers)
    again = await client.post(PAYMENTS, json=body, headers=headers)
    reused = await client.post(PAYMENTS, json={**body, "amount": 7000}, headers=headers)

    assert (first.status_code, again.headers["idempotent-replayed"], reused.status_code) == (201, "true", 422)
    assert counts.deltas() == [1, 1]


class _Snapshot(msgspec.Struct):
    note: str


@ON_BOTH_DATABASES
async def test_a_change_counts_when_its_transaction_commits_and_never_when_it_rolls_back(
    client: Client, clock: ManualClock
) -> None:
    counts = Counts(transitions("cancelled"))
    record = {"merchant_id": None, "type": "payment.cancelled", "payload": _Snapshot("test"), "at": clock.now()}
    seen = []
    async with payguard_of(client.app).db_session() as db:
        outbox = Outbox(db, clock)
        outbox.record(subject_id=uuid.uuid4(), **record)
        await db.flush()
        await db.rollback()
        seen.append(counts.deltas())  # rolled back: nothing
        outbox.record(subject_id=uuid.uuid4(), **record)
        savepoint = await db.begin_nested()
        outbox.record(subject_id=uuid.uuid4(), **record)
        await savepoint.rollback()  # the savepoint's change is undone; the one before it stays
        await db.commit()
        seen.append(counts.deltas())
        savepoint = await db.begin_nested()
        outbox.record(subject_id=uuid.uuid4(), **record)
        await savepoint.commit()  # released: it waits for its transaction
        seen.append(counts.deltas())
        await db.rollback()
        seen.append(counts.deltas())
        outbox.record(subject_id=uuid.uuid4(), **record)
    async with payguard_of(client.app).db_session() as db:  # closed without a commit: nothing either
        await db.commit()

    assert seen == [[0], [1], [1], [1]]
    assert counts.deltas() == [1]


async def test_interruptions_by_kind_session_outcomes_and_cleanup_runs(client: Client, clock: ManualClock) -> None:
    await seed_merchants(client)
    counts = Counts(
        ("payguard_session_interruptions_total", {"kind": "network"}),
        ("payguard_session_events_total", {"event": "interrupted"}),
        ("payguard_session_events_total", {"event": "cancelled"}),
        ("payguard_cleanup_runs_total", {"job": "stale_payments", "outcome": "ok"}),
        ("payguard_cleanup_expired_total", {"job": "stale_payments"}),
        transitions("expired"),
    )

    session = await create_session(client)
    url = f"/payguard/sessions/{session['id']}"
    interrupted = await client.post(f"{url}/interrupt", json={"kind": "network"}, headers=ALICE)
    cancelled = await client.post(f"{url}/cancel", headers=ALICE)
    await create_payment(client)  # pending: stale once 30 minutes have passed
    clock.advance(31 * 60)
    run = await client.post("/payguard/admin/cleanup/force", headers=ADMIN)

    assert (interrupted.status_code, cancelled.status_code, run.status_code) == (200, 200, 200), run.text
    assert counts.deltas() == [1, 1, 1, 1, 1, 1]


def _samples(text: str) -> dict[str, float]:
    """``name{labels}`` → value, from Prometheus' text format."""
    lines = (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {series: float(value) for series, value in lines}


async def test_the_demo_serves_litestars_and_payguards_metrics_at_slash_metrics(
    tmp_path: Path, database_url: str, redis_server: Server
) -> None:
    settings = DemoSettings(data_dir=tmp_path, database_url=database_url, redis_url=redis_server.url, run_worker=True)
    async with serve(create_app(settings)) as client:
        await client.get("/payguard/health")
        response = await client.get("/metrics")
        document = (await client.get("/schema/openapi.json")).json()

    samples: dict[str, Any] = _samples(response.text)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")  # Prometheus' text format
    assert samples['payguard_queue_jobs{status="queued"}'] >= 0
    assert samples["payguard_workers_seen"] >= 0
    assert {'payguard_due_lag_seconds{work="payments"}', 'payguard_due_lag_seconds{work="refunds"}'} <= set(samples)
    assert any(name.startswith("litestar_requests_total{") and "/payguard/health" in name for name in samples)
    assert "# TYPE payguard_gateway_call_duration_seconds histogram" in response.text
    assert "/metrics" not in document["paths"]
