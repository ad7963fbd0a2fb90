"""OpenTelemetry: one payment's trace runs from the request through the queue to the gateway, with its SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from litestar_payguard import SystemClock
from litestar_payguard.schemas.webhooks import WebhookTest
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.testing import ManualClock
from litestar_payguard.tracing import uninstrument
from tests.integration.conftest import (
    ADMIN,
    ON_BOTH_DATABASES,
    Client,
    ClientFactory,
    Store,
    create_session,
    payguard_of,
)
from tests.integration.test_payments_api import PAYMENTS, create_payment, seed_merchants, settled
from tests.integration.webhooks.outbound import create_endpoint
from tests.integration.webhooks.receiver import receiver
from tests.support import eventually

EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span the process ends, in memory; the global provider is set once per process (OpenTelemetry's rule)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)
    EXPORTER.clear()
    yield EXPORTER
    uninstrument()
    EXPORTER.clear()


def _named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_one_payments_trace_runs_from_the_request_through_the_job_to_the_gateway(
    client_for: ClientFactory, spans: InMemorySpanExporter
) -> None:
    async with client_for(traced=True, run_worker_in_app=True, clock=SystemClock()) as client:
        await seed_merchants(client)
        payment = await create_payment(client)
        assert await settled(client, payment["id"]) == "succeeded"
        await client.get("/payguard/ready")  # a probe: never traced

    finished = list(spans.get_finished_spans())
    [request] = [span for span in finished if span.name == f"POST {PAYMENTS}" and span.kind is trace.SpanKind.SERVER]
    in_trace = [span for span in finished if span.context.trace_id == request.context.trace_id]
    by_id = {span.context.span_id: span for span in in_trace}
    [enqueue] = _named(in_trace, "payguard.enqueue process_payment")
    jobs = _named(in_trace, "payguard.job process_payment")
    [charge] = _named(in_trace, "payguard.gateway charge")

    assert _ancestors(enqueue, by_id)[-1] == request.name  # enqueued inside the request, after its commit
    assert jobs, "the worker's span of the job is in the request's trace"
    assert all(job.parent is not None and job.parent.span_id == enqueue.context.span_id for job in jobs)
    assert jobs[0].kind is trace.SpanKind.CONSUMER
    assert "payguard.job process_payment" in _ancestors(charge, by_id)
    assert charge.attributes is not None
    assert charge.attributes["payguard.gateway"] == "simulated"
    sql: list[Any] = [span for span in in_trace if (span.attributes or {}).get("db.system") == "postgresql"]
    assert any(request.name in _ancestors(span, by_id) for span in sql)  # the request's own statements
    assert any("payguard.job process_payment" in _ancestors(span, by_id) for span in sql)  # and the worker's
    assert not [span for span in finished if "/payguard/ready" in span.name]


async def test_a_webhook_delivery_is_a_span_with_its_http_request(
    client_for: ClientFactory, spans: InMemorySpanExporter
) -> None:
    async with client_for(traced=True, run_worker_in_app=True, clock=SystemClock(), webhook_sweep_seconds=1) as client:
        await seed_merchants(client)
        with receiver() as rx:
            await create_endpoint(client, url=rx.url)
            await create_payment(client)

            async def delivered() -> bool:
                return bool(rx.received)

            await eventually(delivered)

    finished = list(spans.get_finished_spans())
    [deliver, *_] = _named(finished, "payguard.webhook deliver")
    children = [span for span in finished if span.parent is not None and span.parent.span_id == deliver.context.span_id]
    assert deliver.kind is trace.SpanKind.CLIENT
    assert [span.name for span in children] == ["POST"]  # httpx's span of the delivery's request
    assert (children[0].attributes or {}).get(
        "http.response.status_code", (children[0].attributes or {}).get("http.status_code")
    ) == 204


async def test_each_webhook_delivery_continues_the_trace_its_event_was_written_in(
    client_for: ClientFactory, spans: InMemorySpanExporter, store: Store
) -> None:
    expected = {"payment.created", "payment.processing", "payment.succeeded"}
    async with client_for(traced=True, run_worker_in_app=True, clock=SystemClock(), webhook_sweep_seconds=1) as client:
        await seed_merchants(client)
        acme = await store.scalar("SELECT id FROM payguard_merchant WHERE api_key = 'key_acme'")
        with receiver() as rx:
            endpoint = UUID((await create_endpoint(client, url=rx.url))["id"])
            payment = await create_payment(client)
            assert await settled(client, payment["id"]) == "succeeded"
            untraced = await _event_outside_any_span(client, acme, endpoint, None)
            unreadable = await _event_outside_any_span(client, acme, endpoint, {"traceparent": "00-nonsense"})

            async def all_delivered() -> bool:
                return len(rx.received) >= len(expected) + 2

            await eventually(all_delivered)

    finished = list(spans.get_finished_spans())
    [request] = [span for span in finished if span.name == f"POST {PAYMENTS}" and span.kind is trace.SpanKind.SERVER]
    by_id = {span.context.span_id: span for span in finished}
    jobs = {span.context.span_id for span in _named(finished, "payguard.job deliver_webhook")}
    rows = await store.rows(
        "SELECT d.id::text AS id, e.id::text AS event, e.type FROM payguard_webhook_delivery AS d "
        "JOIN payguard_event AS e ON e.id = d.event_id"
    )
    of_delivery = {row["id"]: row for row in rows}
    attempts = {
        of_delivery[str((span.attributes or {})["payguard.webhook.delivery_id"])]["event"]: span
        for span in _named(finished, "payguard.webhook deliver")
    }
    types = {row["event"]: row["type"] for row in rows}

    for event_id, attempt in attempts.items():
        if types[event_id] not in expected:
            continue
        ancestors = _ancestors(attempt, by_id)
        assert attempt.context.trace_id == request.context.trace_id, types[event_id]
        assert request.name in ancestors
        # payment.created was written by the request; the other two by the worker's job, in the request's trace.
        assert ("payguard.job process_payment" in ancestors) is (types[event_id] != "payment.created")
        assert any(link.context.span_id in jobs for link in attempt.links)  # and the job that made the attempt
    assert {types[event_id] for event_id in attempts} >= expected
    for event_id in (untraced, unreadable):  # nothing to continue: a child of the job that made the attempt
        attempt = attempts[str(event_id)]
        assert attempt.parent is not None
        assert attempt.parent.span_id in jobs
        assert not attempt.links


async def _event_outside_any_span(
    client: Client, merchant_id: UUID, endpoint_id: UUID, context: dict[str, str] | None
) -> UUID:
    """A ``webhook.test`` event for the endpoint written with no span current, its stored context set to ``context``."""
    async with payguard_of(client.app).db_session() as db:
        event = Outbox(db, SystemClock()).record(
            merchant_id=merchant_id,
            type="webhook.test",
            subject_id=endpoint_id,
            payload=WebhookTest(endpoint_id=endpoint_id, message="untraced"),
            at=SystemClock().now(),
        )
        assert event.trace_context is None
        event.trace_context = context
        await db.flush()
        event_id = event.id
        await db.commit()
        return event_id


@ON_BOTH_DATABASES
async def test_events_written_set_wise_keep_the_trace_context_of_the_run_that_wrote_them(
    client_for: ClientFactory, spans: InMemorySpanExporter, store: Store, clock: ManualClock
) -> None:
    async with client_for(traced=True) as client:
        for index in range(3):
            await create_session(client, headers={"X-Customer": f"stale-{index}"})
        clock.advance(31 * 60)
        forced = await client.post("/payguard/admin/cleanup/force", headers=ADMIN)
    assert forced.status_code == 200, forced.text

    [request] = [
        span for span in spans.get_finished_spans() if span.kind is trace.SpanKind.SERVER and "force" in span.name
    ]
    stored = await store.rows("SELECT trace_context FROM payguard_event WHERE type = 'payment.expired'")
    if store.engine.dialect.name == "postgresql":  # a JSON object, not a JSON string holding one
        kinds = await store.rows(
            "SELECT jsonb_typeof(trace_context) AS kind FROM payguard_event WHERE type = 'payment.expired'"
        )
        assert [row["kind"] for row in kinds] == ["object"] * 3
    contexts = [
        row["trace_context"] if isinstance(row["trace_context"], dict) else json.loads(row["trace_context"])
        for row in stored
    ]
    assert len(contexts) == 3
    for context in contexts:
        assert context["traceparent"].split("-")[1] == format(request.context.trace_id, "032x")
