"""The payment processor's usual steps on Postgres: one statement each, sent through asyncpg.

A worker's step with a payment is small (lock one row, change it, write its outbox event), and through the ORM
each one cost a worker about 2 to 3 ms of CPU against the 1 ms SAQ spends on the job itself
(``benchmarks/payments.py``, ``docs/benchmarks.md``). Here each step is one statement of data-modifying CTEs,
like the stale-payment cleanup's (:mod:`~litestar_payguard.services.stale_expiry`), sent on a connection of the
host's engine: no ORM object, no unit of work, and Postgres commits it on its own.

Each statement changes the payment only when it is exactly as the step expects; otherwise it changes nothing and
answers ``None``, and the processor takes its ORM path, which reads the row under lock and decides every unusual
case (not due, closed, flagged, held by a session, settled meanwhile). So these statements only ever do what
the ORM path would have done in the usual case; the integration tests compare the two.

Only for Postgres through asyncpg (:meth:`PaymentStatements.for_engine`); any other engine takes the ORM path.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from litestar_payguard.models import CheckoutSession, GatewayEvent, OutboxEvent, Payment, PaymentStatus
from litestar_payguard.services.stale_expiry import payload_sql

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    import asyncpg
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ("PaymentStatements",)

_PROCESSING_EVENT = f"payment.{PaymentStatus.PROCESSING.value}"
_PAYMENTS = Payment.__tablename__
_SESSIONS = CheckoutSession.__tablename__
_EVENTS = OutboxEvent.__tablename__
_GATEWAY_EVENTS = GatewayEvent.__tablename__
_EVENT_COLUMNS = "id, merchant_id, type, subject_id, payload, occurred_at, created_at, updated_at"

# Built from constants only: no caller's value reaches the SQL text.
CLAIM = f"""
    WITH due AS (
        SELECT id, status FROM {_PAYMENTS}
        WHERE id = $1 AND status IN ('pending', 'processing') AND NOT needs_attention AND process_at <= $2
        FOR UPDATE
    ), claimed AS (
        UPDATE {_PAYMENTS} AS payment
        SET status = 'processing',
            processing_started_at = CASE WHEN due.status = 'pending' THEN $2 ELSE payment.processing_started_at END,
            process_attempts = payment.process_attempts + 1,
            process_at = $3,
            updated_at = $2
        FROM due WHERE payment.id = due.id
        RETURNING payment.*, due.status AS was
    ), event AS (
        INSERT INTO {_EVENTS} ({_EVENT_COLUMNS})
        SELECT gen_random_uuid(), merchant_id, '{_PROCESSING_EVENT}', id, {payload_sql()}, $2, $2, $2
        FROM claimed WHERE was = 'pending'
    )
    SELECT id, amount, currency, process_at, process_attempts, gateway_order_id, gateway_payment_id, method,
        method_details::text AS method_details,
        EXISTS (SELECT 1 FROM {_SESSIONS} AS s WHERE s.payment_id = claimed.id) AS has_session
    FROM claimed
"""  # noqa: S608
"""Claim a due payment: ``pending`` → ``processing`` (with its event) or a retry of ``processing``; a new lease.

``FOR UPDATE`` in the pick re-checks its conditions on the newest version of a row it had to wait for, so a
payment another transaction settled, flagged or leased meanwhile is not claimed."""

STORE_ORDER = f"""
    UPDATE {_PAYMENTS} SET gateway_order_id = coalesce(gateway_order_id, $2) WHERE id = $1
    RETURNING gateway_order_id
"""  # noqa: S608
"""Keep the gateway order first stored for the payment; every charge goes against that one."""

SETTLE = f"""
    WITH settled AS (
        UPDATE {_PAYMENTS}
        SET status = $3, process_at = NULL, updated_at = $4, gateway_payment_id = coalesce($5, gateway_payment_id),
            failure_code = $6, failure_message = $7
        WHERE id = $1 AND status = 'processing' AND process_at = $2 AND NOT needs_attention
            AND NOT EXISTS (
                SELECT 1 FROM {_GATEWAY_EVENTS} AS e WHERE e.payment_id = $1 AND e.applied_at IS NULL
            )
        RETURNING *
    ), event AS (
        INSERT INTO {_EVENTS} ({_EVENT_COLUMNS})
        SELECT gen_random_uuid(), merchant_id, 'payment.' || status, id, {payload_sql()}, $4, $4, $4
        FROM settled
    )
    SELECT status FROM settled
"""  # noqa: S608
"""Settle a final outcome, only while the lease is still the claim's and nothing waits for the payment.

A webhook that defers a refund event for the payment, or brings news of it, makes the payment due (it changes
``process_at``) under the payment's lock: waiting for that lock, this statement re-checks its conditions on the
new row and leaves it to the ORM path, which applies the deferred events in the same transaction. The
``NOT EXISTS`` covers events deferred before the claim."""


class PaymentStatements:
    """The processor's claim, order and settle steps as single statements, on connections of the host's engine.

    Each statement needs a connection for a moment. Taking one from SQLAlchemy's pool and giving it back cost
    more than the statement itself (about 200 µs of CPU here, asyncpg's own pool about 60 µs), so the statements
    keep up to ``max_connections`` connections of their own: each is opened by the engine's pool, so the host's
    URL, connect arguments and pool events apply, then detached from it. A connection a statement failed on is
    dropped, whatever state the failure left it in; the others are closed by :meth:`close`.

    Args:
        engine: The host's engine (Postgres through asyncpg).
        max_connections: Connections at most (a worker's concurrency); a step waits for one beyond that.
    """

    __slots__ = ("_closed", "_engine", "_idle", "_slots")

    def __init__(self, engine: AsyncEngine, max_connections: int) -> None:
        self._engine = engine
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[asyncpg.Connection] = []
        self._closed = False

    @classmethod
    def for_engine(cls, engine: AsyncEngine, max_connections: int) -> PaymentStatements | None:
        """The statements for this engine, or ``None`` when it is not Postgres through asyncpg."""
        dialect = engine.dialect
        supported = (dialect.name, dialect.driver) == ("postgresql", "asyncpg")
        return cls(engine, max_connections) if supported else None

    async def _take(self) -> asyncpg.Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():  # the server may have closed an idle one
                return connection
        pooled = await self._engine.raw_connection()
        connection = pooled.driver_connection
        pooled.detach()
        return connection

    async def _fetchrow(self, sql: str, *args: Any) -> Any:
        """Run one statement on its own: Postgres commits it."""
        async with self._slots:
            connection = await self._take()
            try:
                row = await connection.fetchrow(sql, *args)
            except BaseException:  # an error, a timeout, a cancelled job: do not reuse what it left behind
                connection.terminate()
                raise
            if self._closed:
                await connection.close()
            else:
                self._idle.append(connection)
            return row

    async def close(self) -> None:
        """Close the connections (a worker or application stopping); one still in use closes when its step ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def claim(self, payment_id: UUID, now: datetime, lease_until: datetime) -> Any:
        """Claim the payment if it is due and open; the claimed row (see :data:`CLAIM`), or ``None``."""
        return await self._fetchrow(CLAIM, payment_id, now, lease_until)

    async def store_order(self, payment_id: UUID, order_id: str) -> str | None:
        """Store the gateway order unless one is stored already; the one stored."""
        row = await self._fetchrow(STORE_ORDER, payment_id, order_id)
        return None if row is None else str(row["gateway_order_id"])

    async def settle(
        self,
        payment_id: UUID,
        *,
        lease_until: datetime,
        status: PaymentStatus,
        now: datetime,
        gateway_payment_id: str | None,
        failure_code: str | None,
        failure_message: str | None,
    ) -> PaymentStatus | None:
        """Move a payment the claim still holds to its final status with its event; ``None`` if it was not."""
        row = await self._fetchrow(
            SETTLE, payment_id, lease_until, status.value, now, gateway_payment_id, failure_code, failure_message
        )
        return None if row is None else PaymentStatus(row["status"])
