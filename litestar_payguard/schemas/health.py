"""Health and readiness: what a load balancer or an orchestrator asks payguard."""

from __future__ import annotations

from litestar_payguard.schemas.base import CamelStruct

__all__ = ("Health", "HealthCheck", "Readiness", "WorkerSeen")


class Health(CamelStruct):
    """The process answers."""

    status: str
    """Always ``ok``."""


class HealthCheck(CamelStruct):
    """One check of readiness."""

    status: str
    """``ok`` or ``fail``."""
    detail: str
    value: float | None = None
    """What was measured: milliseconds for the database, jobs queued for the queue, workers heard from, seconds of
    lag."""


class Readiness(CamelStruct):
    """Whether this deployment can take payments now: every check must be ``ok`` (else the answer is 503)."""

    status: str
    """``ready`` or ``not_ready``."""
    checks: dict[str, HealthCheck]
    """``database``, ``schema``, ``queue``, ``workers``, ``lag``."""


class WorkerSeen(CamelStruct):
    """A worker whose heartbeat is current, as the dashboard lists it."""

    id: str
    host: str | None
    pid: int | None
    uptime_seconds: float | None
    jobs_done: int | None
    jobs_failed: int | None
