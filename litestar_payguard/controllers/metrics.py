"""Prometheus exposition: Litestar's own ``PrometheusController``, with payguard's gauges read at each scrape.

Annotations are evaluated at import (no ``from __future__ import annotations``), as in the other controllers.
"""

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.plugins.prometheus import PrometheusController

from litestar_payguard.services.health import HealthService

__all__ = ("PayGuardMetricsController",)


class PayGuardMetricsController(PrometheusController):
    """``GET /metrics``: every metric of the process (Litestar's HTTP metrics, payguard's, the host's own).

    Before it answers, it reads the queue's depth, the oldest due work's lag and the workers heard from into
    payguard's gauges. Mount it where the host chooses by subclassing it (``path = "/internal/metrics"``);
    ``openmetrics_format = True`` answers in OpenMetrics. In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``)
    it merges every process's metrics, as Litestar's controller does.
    """

    include_in_schema = False  # an operator's endpoint, not an operation of the API

    @get()
    async def get(  # the same route, with the service that reads the gauges
        self, payguard_health: NamedDependency[HealthService]
    ) -> Response[bytes]:
        """The metrics, in Prometheus' text format (or OpenMetrics)."""
        await payguard_health.refresh_gauges()
        response: Response[bytes] = await PrometheusController.get.fn(self)
        return response
