"""OpenTelemetry: one payment's trace runs from the request through the queue to the gateway, with its SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from litestar_payguard import SystemClock
from litestar_payguard.testing import ManualClock
from litestar_payguard.tracing import uninstrument
from tests.integration.conftest import ADMIN, ON_BOTH_DATABASES, ClientFactory, Store, create_session
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
    client_for: ClientFactory, spans: InMemorySpanExporter
) -> None:
    expected = {"payment.created", "payment.processing", "payment.succeeded"}
    async with client_for(traced=True, run_worker_in_app=True, clock=SystemClock(), webhook_sweep_seconds=1) as client:
        await seed_merchants(client)
        with receiver() as rx:
            await create_endpoint(client, url=rx.url)
            payment = await create_payment(client)

            async def all_delivered() -> bool:
                return {json.loads(received.body)["type"] for received in rx.received} >= expected

            assert await settled(client, payment["id"]) == "succeeded"
            await eventually(all_delivered)

    finished = list(spans.get_finished_spans())
    [request] = [span for span in finished if span.name == f"POST {PAYMENTS}" and span.kind is trace.SpanKind.SERVER]
    in_trace = {span.context.span_id: span for span in finished if span.context.trace_id == request.context.trace_id}
    deliveries = [span for span in _named(finished, "payguard.webhook deliver") if span.context.span_id in in_trace]
    jobs = {span.context.span_id for span in _named(finished, "payguard.job deliver_webhook")}

    # The request wrote payment.created; the worker's job, in the request's trace, wrote the other two.
    assert len(deliveries) >= len(expected)
    for delivery in deliveries:
        assert request.name in _ancestors(delivery, in_trace)
        assert any(link.context.span_id in jobs for link in delivery.links)  # and the job that made the attempt
    written_by_job = [span for span in deliveries if "payguard.job process_payment" in _ancestors(span, in_trace)]
    assert len(written_by_job) >= 2


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
    contexts = [
        row["trace_context"] if isinstance(row["trace_context"], dict) else json.loads(row["trace_context"])
        for row in stored
    ]
    assert len(contexts) == 3
    for context in contexts:
        assert context["traceparent"].split("-")[1] == format(request.context.trace_id, "032x")
