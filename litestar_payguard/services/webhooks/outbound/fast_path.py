"""A run's usual batch step in two statements (:mod:`.fast_path_sql`), on Postgres through asyncpg.

:meth:`~.deliver.WebhookDeliverer.deliver_due` records a batch whose every attempt was delivered, and takes the
endpoint's next due deliveries, through :meth:`DeliveryStatements.record_delivered`. When the endpoint is disabled
or deleted, or the statements fail, nothing is changed and the batch takes the ORM path
(:func:`~.outcome.record_attempts`), which decides every unusual case; so does every batch with a failed attempt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from litestar_payguard.models import AttemptTrigger, DeliveryStatus
from litestar_payguard.observability import span
from litestar_payguard.services.connections import (
    STATEMENT_TIMEOUT_SECONDS,
    CommitUnknownError,
    DetachedConnections,
    Rollback,
    is_asyncpg_postgres,
)
from litestar_payguard.services.webhooks.outbound.fast_path_sql import (
    LOCK_ENDPOINT,
    LOCK_ENDPOINT_OF,
    RECORD_DELIVERED,
    TAKE_DUE,
)
from litestar_payguard.services.webhooks.outbound.outcome import Attempt, Step, attempt_log
from litestar_payguard.services.webhooks.outbound.payload import delivery_body
from litestar_payguard.services.webhooks.outbound.taking import Taken

if TYPE_CHECKING:
    from collections.abc import Sequence
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncEngine

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.services.webhooks.outbound.taking import AttemptTaker
    from litestar_payguard.services.webhooks.outbound.transport import SendResult

__all__ = ("DeliveryStatements", "Recorded")

logger = logging.getLogger("litestar_payguard.webhooks")

_TIMEOUT = STATEMENT_TIMEOUT_SECONDS


class _Declined(Rollback):
    """The statements take no part: the endpoint is disabled or deleted, or nothing is due now (rolled back)."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What :meth:`DeliveryStatements.record_delivered` did: where the batch's deliveries stand, what it took."""

    steps: list[Step]
    taken: Taken


@dataclass(frozen=True, slots=True)
class _Event:
    """The columns of an event a delivery sends (:class:`~.payload.DeliveredEvent`)."""

    id: UUID
    type: str
    subject_id: UUID
    occurred_at: datetime
    payload: dict[str, Any]


class DeliveryStatements:
    """The batch step of a run as one transaction of two statements, on connections of the host's engine.

    Args:
        engine: The host's engine (Postgres through asyncpg).
        config: payguard's configuration.
    """

    __slots__ = ("_config", "_connections")

    def __init__(self, engine: AsyncEngine, config: PayGuardConfig) -> None:
        self._config = config
        self._connections = DetachedConnections(engine)

    @classmethod
    def for_engine(cls, engine: AsyncEngine, config: PayGuardConfig) -> DeliveryStatements | None:
        """The statements for this engine, or ``None`` when it is not Postgres through asyncpg."""
        return cls(engine, config) if is_asyncpg_postgres(engine) else None

    async def take_due(self, delivery_id: UUID, *, taker: AttemptTaker) -> Taken | None:
        """Take the delivery and its endpoint's other due ones, as a run's first take does (:data:`TAKE_DUE`).

        ``None``: nothing changed, for the ORM path to take it or say why not (not due, held, done, its endpoint
        busy, disabled or deleted, or the statements failed; after a lost commit the ORM path finds the delivery
        held, if it was taken, and it is looked at again when the hold runs out).
        """
        try:
            answer = await self._take(delivery_id)
        except CommitUnknownError:
            logger.warning("payguard: the webhook take's commit went unanswered (delivery %s)", delivery_id)
            return None
        except Exception:
            logger.warning(
                "payguard: the webhook take failed for delivery %s; the ORM path takes it", delivery_id, exc_info=True
            )
            return None
        if answer is None:
            return None
        endpoint, rows, now, lease_until = answer
        try:
            attempts = self._attempts(endpoint["id"], endpoint["test_mode"], endpoint, rows, taker, lease_until, now)
        except Exception:  # committed: the deliveries taken wait for their leases to run out, then the sweep
            logger.exception("payguard: the webhook deliveries taken with %s cannot be read", delivery_id)
            return Taken([], more_due=False)
        return Taken(attempts, more_due=len(attempts) == rows[0]["free"])

    async def _take(self, delivery_id: UUID) -> tuple[Any, list[Any], datetime, datetime] | None:
        """The locked endpoint, the rows of :data:`TAKE_DUE`, and the time and lease they were taken with.

        ``None`` (rolled back: nothing changed) when the endpoint is disabled or deleted, or nothing is taken.
        """
        limit = self._config.webhook_max_in_flight_per_endpoint
        with span("payguard.sql webhook take", {"db.system": "postgresql", "db.operation.name": "take"}, kind="CLIENT"):
            try:
                async with self._connections.transaction() as connection:
                    endpoint = await connection.fetchrow(
                        LOCK_ENDPOINT_OF, delivery_id, timeout=STATEMENT_TIMEOUT_SECONDS
                    )
                    if endpoint is None or not endpoint["usable"]:
                        raise _Declined
                    now = self._config.clock.now()  # once the lock is ours, as the ORM path reads it
                    lease_until = now + timedelta(seconds=self._config.webhook_lease_seconds)
                    rows = await connection.fetch(
                        TAKE_DUE,
                        delivery_id,
                        endpoint["id"],
                        now,
                        limit,
                        lease_until,
                        timeout=STATEMENT_TIMEOUT_SECONDS,
                    )
                    if not rows:
                        raise _Declined
            except _Declined:  # inside the span: not an error, the ORM path's case
                return None
        return endpoint, rows, now, lease_until

    async def record_delivered(
        self, sent: Sequence[tuple[Attempt, SendResult]], *, take: bool, taker: AttemptTaker
    ) -> Recorded | None:
        """Record attempts of one endpoint that were all delivered and (``take``) lease its next due deliveries.

        ``None``: nothing changed, for the ORM path to record them (the endpoint was disabled or deleted, or the
        statements failed before their commit). When the commit's answer is lost, nothing more is taken and each
        delivery is looked at again when its lease runs out: delivered if the commit went through, else taken
        and sent again then (at least once, as after a worker that died).
        """
        endpoint_id = sent[0][0].endpoint_id
        try:
            answer = await self._run(sent, take=take)
        except CommitUnknownError:
            logger.warning("payguard: the webhook batch's commit went unanswered (endpoint %s)", endpoint_id)
            return Recorded([Step(DeliveryStatus.PENDING, a.lease_until) for a, _ in sent], Taken([], more_due=False))
        except Exception:
            logger.warning(
                "payguard: the webhook batch statements failed for endpoint %s; the ORM path records the batch",
                endpoint_id,
                exc_info=True,
            )
            return None
        if answer is None:
            return None
        endpoint, rows, now, lease_until = answer
        head = rows[0]
        recorded = set(head["recorded"])
        kept = {
            delivery_id: Step(DeliveryStatus(status), due)
            for delivery_id, status, due in zip(head["kept_ids"], head["kept_status"], head["kept_next"], strict=True)
        }
        steps = [
            Step(DeliveryStatus.DELIVERED) if a.delivery_id in recorded else kept.get(a.delivery_id, Step(None))
            for a, _ in sent
        ]
        try:
            first = sent[0][0]
            attempts = self._attempts(first.endpoint_id, first.test_mode, endpoint, rows, taker, lease_until, now)
        except Exception:  # committed: the deliveries taken wait for their leases to run out, then the sweep
            logger.exception("payguard: the webhook deliveries taken for endpoint %s cannot be read", endpoint_id)
            return Recorded(steps, Taken([], more_due=False))
        return Recorded(steps, Taken(attempts, more_due=take and 0 < head["free"] == len(attempts)))

    async def _run(
        self, sent: Sequence[tuple[Attempt, SendResult]], *, take: bool
    ) -> tuple[Any, list[Any], datetime, datetime] | None:
        """The locked endpoint, the rows of :data:`RECORD_DELIVERED`, and the time and lease they were taken with.

        ``None`` (rolled back: nothing changed) when the endpoint is disabled or deleted.
        """
        endpoint_id = sent[0][0].endpoint_id
        limit = self._config.webhook_max_in_flight_per_endpoint if take else 0
        # Sent on the driver's connection, unseen by SQLAlchemy's instrumentation: the span is payguard's.
        with span(
            "payguard.sql webhook batch", {"db.system": "postgresql", "db.operation.name": "batch"}, kind="CLIENT"
        ):
            try:
                async with self._connections.transaction() as connection:
                    endpoint = await connection.fetchrow(LOCK_ENDPOINT, endpoint_id, timeout=_TIMEOUT)
                    if endpoint is None or not endpoint["usable"]:
                        raise _Declined
                    now = self._config.clock.now()  # once the lock is ours, as the ORM path reads it
                    lease_until = now + timedelta(seconds=self._config.webhook_lease_seconds)
                    columns = _attempt_columns(sent, now)
                    rows = await connection.fetch(
                        RECORD_DELIVERED,
                        endpoint_id,
                        *columns,
                        now,
                        limit,
                        lease_until,
                        timeout=STATEMENT_TIMEOUT_SECONDS,
                    )
            except _Declined:  # inside the span: not an error, the ORM path's case
                return None
        return endpoint, rows, now, lease_until

    def _attempts(  # noqa: PLR0917 - the parts of one answer
        self,
        endpoint_id: UUID,
        test_mode: bool,
        endpoint: Any,
        rows: list[Any],
        taker: AttemptTaker,
        lease_until: datetime,
        now: datetime,
    ) -> list[Attempt]:
        """The attempts of the deliveries taken (the rows with one), to the endpoint's URL with its valid secrets."""
        secrets, unreadable = taker.secrets(
            endpoint_id,
            endpoint["secret"],
            endpoint["previous_secret"],
            endpoint["previous_secret_expires_at"],
            now,
        )
        events_url, max_bytes = f"{self._config.path}/v1/events", self._config.webhook_max_body_bytes
        return [
            Attempt(
                delivery_id=row["id"],
                endpoint_id=endpoint_id,
                event_id=row["event_id"],
                number=row["attempts"],
                trigger=AttemptTrigger(row["trigger"]),
                lease_until=lease_until,
                url=endpoint["url"],
                test_mode=test_mode,
                body=delivery_body(_event(row), events_url=events_url, max_bytes=max_bytes),
                secrets=secrets,
                unreadable=unreadable,
                trace_context=None if row["trace_context"] is None else msgspec.json.decode(row["trace_context"]),
            )
            for row in rows
            if row["id"] is not None
        ]

    async def close(self) -> None:
        """Close the connections (a worker or application stopping)."""
        await self._connections.close()


def _attempt_columns(sent: Sequence[tuple[Attempt, SendResult]], now: datetime) -> list[list[Any]]:
    """The attempts' log records as the statement's columns ``$2`` … ``$11``."""
    logs = [(attempt.lease_until, attempt_log(attempt, result, now)) for attempt, result in sent]
    return [
        [log["delivery_id"] for _, log in logs],
        [lease for lease, _ in logs],
        [log["number"] for _, log in logs],
        [log["trigger"].value for _, log in logs],
        [log["started_at"] for _, log in logs],
        [log["duration_ms"] for _, log in logs],
        [log["response_status"] for _, log in logs],
        [msgspec.json.encode(log["response_headers"]).decode() for _, log in logs],
        [log["response_body"] for _, log in logs],
        [log["error_detail"] for _, log in logs],
    ]


def _event(row: Any) -> _Event:
    payload = msgspec.json.decode(row["payload"])
    return _Event(row["event_id"], row["type"], row["subject_id"], row["occurred_at"], payload)
