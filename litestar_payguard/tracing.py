"""Traces with OpenTelemetry: ``pip install 'litestar-payguard[otel]'``, then add :func:`tracing_plugin`'s plugin.

The request's span comes from Litestar's OpenTelemetry plugin, its SQL from the maintained SQLAlchemy
instrumentation and its outbound HTTP (a gateway's API, webhook deliveries) from the httpx one. payguard adds its
own spans (:mod:`litestar_payguard.observability.spans`): ``payguard.enqueue <job>`` where a job is handed to the
queue, ``payguard.job <job>`` where a worker runs it (the child of the enqueue, across processes: the job carries the
trace context), ``payguard.gateway <operation>`` around each gateway call and ``payguard.webhook deliver`` around
each webhook attempt. Every span goes to the global tracer provider: set it before the app starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar_payguard.exceptions import ImproperConfigurationError

try:
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
except ImportError as exc:  # pragma: no cover - the otel extra is not installed
    msg = "litestar_payguard.tracing needs the otel extra: pip install 'litestar-payguard[otel]'"
    raise ImproperConfigurationError(msg) from exc

if TYPE_CHECKING:
    from advanced_alchemy.config import SQLAlchemyAsyncConfig

    from litestar_payguard.config import PayGuardConfig

__all__ = ("tracing_plugin", "uninstrument")


def tracing_plugin(
    payguard: PayGuardConfig, sqlalchemy_config: SQLAlchemyAsyncConfig, **options: Any
) -> OpenTelemetryPlugin:
    """Litestar's OpenTelemetry plugin for the host app, with SQLAlchemy and httpx instrumented.

    Call it once per process, where the app is built (a ``litestar payguard worker`` process builds the app too,
    so its jobs are traced the same way).

    Args:
        payguard: payguard's configuration: its probes (``{path}/health``, ``{path}/ready``) are not traced.
        sqlalchemy_config: The host's SQLAlchemy configuration: its engine (payguard's too) is instrumented.
        **options: More of Litestar's ``OpenTelemetryConfig`` (``exclude``, hooks, a ``tracer_provider``…).
    """
    provider = options.get("tracer_provider")
    SQLAlchemyInstrumentor().instrument(engine=sqlalchemy_config.get_engine().sync_engine, tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    probes = [f"{payguard.path}/health", f"{payguard.path}/ready"]
    exclude = options.pop("exclude", None) or []
    return OpenTelemetryPlugin(
        OpenTelemetryConfig(exclude=[*probes, *([exclude] if isinstance(exclude, str) else exclude)], **options)
    )


def uninstrument() -> None:
    """Undo :func:`tracing_plugin`'s SQLAlchemy and httpx instrumentation (tests that trace one app)."""
    SQLAlchemyInstrumentor().uninstrument()
    HTTPXClientInstrumentor().uninstrument()
