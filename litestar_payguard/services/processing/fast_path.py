"""The processor's claim, order and outcome statements, run on connections of the host's engine.

Concurrent jobs share them (:class:`.coalesced.Coalesced`); the statements themselves
are in :mod:`.fast_path_sql`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from sqlalchemy import select

from litestar_payguard.models import Payment, PaymentStatus
from litestar_payguard.observability import count_committed, count_events, span, trace_json
from litestar_payguard.services.connections import DetachedConnections, is_asyncpg_postgres
from litestar_payguard.services.processing.coalesced import Coalesced
from litestar_payguard.services.processing.fast_path_sql import (
    CLAIM,
    CLAIM_MANY,
    RECORD_FINAL,
    RECORD_FINAL_BOUND,
    RECORD_FINAL_MANY,
    STORE_ORDER,
    STORE_ORDER_MANY,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("FinalOutcome", "PaymentStatements", "record_final_in")

logger = logging.getLogger("litestar_payguard.processing")

_Out = TypeVar("_Out")

_RECORD_FINAL_LOADING = select(Payment).from_statement(RECORD_FINAL_BOUND)
"""Built once, so that its cache key is too."""
_PROCESSING = f"payment.{PaymentStatus.PROCESSING.value}"


@dataclass(frozen=True, slots=True)
class FinalOutcome:
    """A final gateway answer for a payment the claim holds (see :data:`RECORD_FINAL`)."""

    payment_id: UUID
    lease_until: datetime
    status: PaymentStatus
    gateway_payment_id: str | None
    failure_code: str | None
    failure_message: str | None
    trace: str | None = None
    """The job's trace context as JSON text (:func:`~litestar_payguard.observability.trace_json`), for the event."""


class PaymentStatements:
    """The processor's claim, order and outcome steps as single statements, on connections of the host's engine.

    The statements run on connections of their own
    (:class:`~litestar_payguard.services.connections.DetachedConnections`), closed by :meth:`close`.

    Each kind of statement runs at most ``in_flight`` at a time (so at most three times that many connections);
    steps of other jobs that come meanwhile share the next statement of their kind.

    Args:
        engine: The host's engine (Postgres through asyncpg).
        config: payguard's configuration (clock, lease).
        in_flight: Statements of one kind at once.
    """

    __slots__ = ("_claim", "_config", "_connections", "_record", "_store_order")

    def __init__(self, engine: AsyncEngine, config: PayGuardConfig, in_flight: int = 1) -> None:
        self._config = config
        self._connections = DetachedConnections(engine)
        self._claim = Coalesced(self._claim_one, self._claim_many, _first, in_flight)
        self._store_order = Coalesced(self._store_order_one, self._store_order_many, _first, in_flight)
        self._record = Coalesced(self._record_one, self._record_many, _payment_of, in_flight)

    @classmethod
    def for_engine(cls, engine: AsyncEngine, config: PayGuardConfig) -> PaymentStatements | None:
        """The statements for this engine, or ``None`` when it is not Postgres through asyncpg."""
        return cls(engine, config) if is_asyncpg_postgres(engine) else None

    async def claim(self, payment_id: UUID) -> Any:
        """Claim the payment if it is due and open; the claimed row (see :data:`CLAIM`), or ``None``."""
        row = await _or_none(self._claim((payment_id, trace_json())), "claim", payment_id)
        if row is not None and row["was"] == PaymentStatus.PENDING.value:
            count_committed(_PROCESSING)
        return row

    async def store_order(self, payment_id: UUID, order_id: str) -> str | None:
        """Store the gateway order unless one is stored already; the one stored, or ``None``."""
        return await _or_none(self._store_order((payment_id, order_id)), "order", payment_id)

    async def record_final(self, final: FinalOutcome) -> PaymentStatus | None:
        """Move a payment the claim still holds to its final status with its event; ``None`` if it was not."""
        status = await _or_none(self._record(final), "outcome", final.payment_id)
        if status is not None:
            count_committed(f"payment.{status.value}")
        return status

    async def close(self) -> None:
        """Close the connections (a worker or application stopping); one still in use closes when its step ends."""
        for coalesced in (self._claim, self._store_order, self._record):
            await coalesced.close()
        await self._connections.close()

    # -- the statements, for one payment or several ------------------------------------------------------------

    def _times(self) -> tuple[datetime, datetime]:
        now = self._config.clock.now()
        return now, now + timedelta(seconds=self._config.payment_lease_seconds)

    async def _claim_one(self, request: tuple[UUID, str | None]) -> Any:
        payment_id, trace = request
        return await self._fetchrow(CLAIM, payment_id, *self._times(), trace)

    async def _claim_many(self, requests: list[tuple[UUID, str | None]]) -> list[Any]:
        ids, traces = (list(column) for column in zip(*requests, strict=True))
        rows = {row["id"]: row for row in await self._fetch(CLAIM_MANY, ids, *self._times(), traces)}
        return [rows.get(payment_id) for payment_id in ids]

    async def _store_order_one(self, request: tuple[UUID, str]) -> str | None:
        row = await self._fetchrow(STORE_ORDER, *request)
        return None if row is None else str(row["gateway_order_id"])

    async def _store_order_many(self, requests: list[tuple[UUID, str]]) -> list[str | None]:
        ids, orders = zip(*requests, strict=True)
        rows = await self._fetch(STORE_ORDER_MANY, list(ids), list(orders))
        stored = {row["id"]: str(row["gateway_order_id"]) for row in rows}
        return [stored.get(payment_id) for payment_id in ids]

    async def _record_one(self, final: FinalOutcome) -> PaymentStatus | None:
        row = await self._fetchrow(RECORD_FINAL, *_final_values([final], self._config.clock.now(), many=False))
        return None if row is None else PaymentStatus(row["status"])

    async def _record_many(self, finals: list[FinalOutcome]) -> list[PaymentStatus | None]:
        rows = await self._fetch(RECORD_FINAL_MANY, *_final_values(finals, self._config.clock.now(), many=True))
        recorded = {row["id"]: PaymentStatus(row["status"]) for row in rows}
        return [recorded.get(final.payment_id) for final in finals]

    async def _fetchrow(self, sql: str, *args: Any) -> Any:
        rows = await self._connections.fetch(sql, *args)
        return rows[0] if rows else None

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        return await self._connections.fetch(sql, *args)


def _final_values(finals: list[FinalOutcome], now: datetime, *, many: bool) -> list[Any]:
    """The parameters of :data:`RECORD_FINAL` (one) or :data:`RECORD_FINAL_MANY` (columns of several), in order."""
    columns: list[Any] = [
        [s.payment_id for s in finals],
        [s.lease_until for s in finals],
        [s.status.value for s in finals],
        now,
        [s.gateway_payment_id for s in finals],
        [s.failure_code for s in finals],
        [s.failure_message for s in finals],
        [s.trace for s in finals],
    ]
    return columns if many else [column if index == 3 else column[0] for index, column in enumerate(columns)]


async def record_final_in(db: AsyncSession, final: FinalOutcome, now: datetime) -> Payment | None:
    """Run the recording statement in ``db``'s transaction (the fulfilment hook's); ``None`` if it changed nothing.

    The statement's answer is the recorded row, loaded as the session's ``Payment``: no second read for the hook.
    Nothing is committed: the caller commits the success together with what its hook adds, or rolls both back.
    """
    values = _final_values([final], now, many=False)
    params = {f"p{number}": value for number, value in enumerate(values, 1)}
    payment = (await db.scalars(_RECORD_FINAL_LOADING, params)).first()
    if payment is not None:
        count_events(db, f"payment.{payment.status.value}")
    return payment


def _first(request: tuple[UUID, str | None]) -> UUID:
    return request[0]


def _payment_of(final: FinalOutcome) -> UUID:
    return final.payment_id


async def _or_none(step: Awaitable[_Out], what: str, payment_id: UUID) -> _Out | None:
    """The statement's answer; ``None`` when it failed, so that the step takes the ORM path.

    Safe whatever the failure: a statement that committed before its answer was lost leaves the payment as the
    ORM path expects to find it after another worker's step (claimed under a lease, order stored, outcome recorded).
    """
    try:
        # Sent on the driver's connection, unseen by SQLAlchemy's instrumentation: the span is payguard's.
        with span(f"payguard.sql {what}", {"db.system": "postgresql", "db.operation.name": what}, kind="CLIENT"):
            return await step
    except Exception:
        logger.warning(
            "payguard: the %s statement failed for payment %s; the ORM path takes it", what, payment_id, exc_info=True
        )
        return None
