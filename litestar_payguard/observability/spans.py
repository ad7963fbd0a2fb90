"""payguard's OpenTelemetry spans, when the ``otel`` extra is installed; without it every helper does nothing.

Spans go to the global tracer provider, the one the host sets (``opentelemetry.trace.set_tracer_provider``).
A job carries the trace context of the code that enqueued it in its SAQ ``meta``, so a worker's span for the job
is a child of the request's: one payment's trace runs from ``POST`` through the queue to the gateway call.
"""

from __future__ import annotations

import functools
import json
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Final

try:
    from opentelemetry import propagate, trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # pragma: no cover - the otel extra is not installed
    propagate = trace = None  # type: ignore[assignment]
    TraceContextTextMapPropagator = None  # type: ignore[assignment,misc]

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

__all__ = ("TRACE_META", "carrier", "job_span", "span", "stored_trace", "trace_json", "traced_job")

TRACE_META: Final = "payguard_trace"
"""The key of a job's ``meta`` that holds the enqueuer's trace context (W3C ``traceparent``, ``tracestate``)."""

_TRACER_NAME = "litestar_payguard"
_W3C = None if TraceContextTextMapPropagator is None else TraceContextTextMapPropagator()
"""The W3C trace-context propagator alone: what an event stores, whatever propagators the host set."""


def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    kind: str = "INTERNAL",
    parent: Any = None,
    continues: object = None,
) -> AbstractContextManager[Any]:
    """Open a span around a block, or nothing without OpenTelemetry.

    ``parent``: the context to open it in instead of the current one. ``continues``: a stored trace context
    (:func:`stored_trace`) to continue instead, when it is valid and sampled; the span is then also linked to the
    current span, which it does not descend from. Otherwise (none, unreadable, another propagator's, or a trace
    that was not sampled) the span opens where it would have without it. An exception leaving the block is
    recorded on the span and sets its status to error.
    """
    if trace is None:
        return nullcontext()
    links = []
    stored = _continued(continues)
    if stored is not None:
        current = trace.get_current_span().get_span_context()
        links = [trace.Link(current)] if current.is_valid else []
        parent = stored
    return trace.get_tracer(_TRACER_NAME).start_as_current_span(
        name, context=parent, kind=getattr(trace.SpanKind, kind), attributes=dict(attributes or {}), links=links
    )


def carrier() -> dict[str, str]:
    """The current trace context as text headers to carry in a job (empty when no span is current)."""
    headers: dict[str, str] = {}
    if propagate is not None:
        propagate.inject(headers)
    return headers


def stored_trace() -> dict[str, str] | None:
    """The current span's W3C trace context (``traceparent``, ``tracestate``) to store with a row; ``None`` untraced.

    Only the trace context, whatever propagators the host set: no baggage a client sent is kept in the database.
    """
    if _W3C is None:
        return None
    headers: dict[str, str] = {}
    _W3C.inject(headers)
    return headers or None


def trace_json() -> str | None:
    """:func:`stored_trace` as JSON text, for an event's ``trace_context`` written in SQL; ``None`` untraced."""
    headers = stored_trace()
    return None if headers is None else json.dumps(headers, separators=(",", ":"))


def _continued(stored: object) -> Any:
    """The context a stored trace context continues: ``None`` unless it is a valid, sampled span's."""
    if _W3C is None or not isinstance(stored, dict) or not stored:
        return None
    headers = {str(name): value for name, value in stored.items() if isinstance(value, str)}
    context = _W3C.extract(headers)
    span_context = trace.get_current_span(context).get_span_context()
    return context if span_context.is_valid and span_context.trace_flags.sampled else None


def job_span(function: str, meta: Mapping[str, Any] | None) -> AbstractContextManager[Any]:
    """The span of one job run, a child of the span that enqueued it when the job carries a trace context."""
    if propagate is None:
        return nullcontext()
    headers = (meta or {}).get(TRACE_META)
    parent = propagate.extract(headers) if isinstance(headers, dict) else None
    return span(f"payguard.job {function}", {"messaging.system": "saq"}, kind="CONSUMER", parent=parent)


def traced_job(function: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A SAQ task function that runs inside its job's span (same name, so the queue finds it)."""

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        job = ctx.get("job")
        with job_span(function.__qualname__, getattr(job, "meta", None)):
            return await function(ctx, **kwargs)

    return run
