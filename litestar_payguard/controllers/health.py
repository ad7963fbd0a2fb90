"""Health and readiness probes: ``{path}/health`` (the process answers) and ``{path}/ready`` (payments can be taken).

Annotations are evaluated at import (no ``from __future__ import annotations``), as in the sessions controller.
"""

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from litestar_payguard.schemas.health import Health, Readiness
from litestar_payguard.services.health import HealthService

__all__ = ("HealthController",)


class HealthController(Controller):
    """Probes for load balancers and orchestrators; no authentication, nothing secret in the answers."""

    path = "/"
    include_in_schema = False  # probes, not operations of the API

    @get("/health", sync_to_thread=False)
    def health(self) -> Health:
        """200 while the process answers (a liveness probe: restart the process when it does not)."""
        return Health(status="ok")

    @get("/ready")
    async def ready(self, payguard_health: NamedDependency[HealthService]) -> Response[Readiness]:
        """200 when the database, schema, queue, a worker's heartbeat and the work's lag are all fine; else 503.

        The 503 carries every check's result: send no traffic to this instance, or page someone.
        """
        readiness = await payguard_health.readiness()
        return Response(readiness, status_code=200 if readiness.status == "ready" else 503)
