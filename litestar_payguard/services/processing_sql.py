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
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

from litestar_payguard.models import CheckoutSession, GatewayEvent, OutboxEvent, Payment, PaymentStatus
from litestar_payguard.services.stale_expiry import payload_sql

if TYPE_CHECKING:
    import asyncpg
    from sqlalchemy.ext.asyncio import AsyncEngine

    from litestar_payguard.config import PayGuardConfig

__all__ = ("PaymentStatements", "Settlement")

logger = logging.getLogger("litestar_payguard.processing")

STATEMENT_TIMEOUT_SECONDS = 15.0
"""A statement that has not answered by then is abandoned (its connection dropped) and its steps take the ORM
path: a connection half-open after a failover must not hold up every payment of the worker."""

_In = TypeVar("_In")
_Out = TypeVar("_Out")

_PROCESSING_EVENT = f"payment.{PaymentStatus.PROCESSING.value}"
_PAYMENTS = Payment.__tablename__
_SESSIONS = CheckoutSession.__tablename__
_EVENTS = OutboxEvent.__tablename__
_GATEWAY_EVENTS = GatewayEvent.__tablename__
_EVENT_COLUMNS = "id, merchant_id, type, subject_id, payload, occurred_at, created_at, updated_at"

# Built from constants only: no caller's value reaches the SQL text. Each statement has a form for one payment
# and one for several, differing only in where the input comes from (parameters, or arrays of them).


def _claim(*, many: bool) -> str:
    pick = "id = ANY($1::uuid[])" if many else "id = $1"
    return f"""
        WITH due AS (
            SELECT id, status FROM {_PAYMENTS}
            WHERE {pick} AND status IN ('pending', 'processing') AND NOT needs_attention AND process_at <= $2
            ORDER BY id
            FOR UPDATE SKIP LOCKED
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


CLAIM = _claim(many=False)
"""Claim a due payment: ``pending`` → ``processing`` (with its event) or a retry of ``processing``; a new lease.

A payment another transaction holds right now is skipped (``SKIP LOCKED``): its job takes the ORM path and waits
for the lock there, alone, rather than holding up the other jobs' steps that share this statement. ``FOR UPDATE``
checks the pick's conditions again on the newest version of the row, so a payment another transaction settled,
flagged or leased since the statement began is not claimed. Several are locked in the order of their ids."""
CLAIM_MANY = _claim(many=True)


def _store_order(*, many: bool) -> str:
    given = (
        "SELECT * FROM unnest($1::uuid[], $2::text[]) AS given(id, order_id)"
        if many
        else "SELECT $1::uuid AS id, $2::text AS order_id"
    )
    return f"""
        WITH given AS ({given}), locked AS (
            SELECT payment.id FROM {_PAYMENTS} AS payment JOIN given ON payment.id = given.id
            ORDER BY payment.id
            FOR UPDATE OF payment SKIP LOCKED
        ), stored AS (
            UPDATE {_PAYMENTS} AS payment SET gateway_order_id = coalesce(payment.gateway_order_id, given.order_id)
            FROM given JOIN locked ON locked.id = given.id WHERE payment.id = given.id
            RETURNING payment.id, payment.gateway_order_id
        )
        SELECT id, gateway_order_id FROM stored
    """  # noqa: S608


STORE_ORDER = _store_order(many=False)
"""Keep the gateway order first stored for the payment; every charge goes against that one (a payment another
transaction holds is skipped, and stored through the ORM path)."""
STORE_ORDER_MANY = _store_order(many=True)


def _settle(*, many: bool) -> str:
    given = (
        "SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $5::text[], $6::text[], $7::text[]) "
        "AS given(id, lease_until, status, gateway_payment_id, failure_code, failure_message)"
        if many
        else "SELECT $1::uuid AS id, $2::timestamptz AS lease_until, $3::text AS status, "
        "$5::text AS gateway_payment_id, $6::text AS failure_code, $7::text AS failure_message"
    )
    return f"""
        WITH given AS ({given}), locked AS (
            SELECT payment.id FROM {_PAYMENTS} AS payment JOIN given ON payment.id = given.id
            WHERE payment.status = 'processing' AND payment.process_at = given.lease_until
                AND NOT payment.needs_attention
            ORDER BY payment.id
            FOR UPDATE OF payment SKIP LOCKED
        ), settled AS (
            UPDATE {_PAYMENTS} AS payment
            SET status = given.status, process_at = NULL, updated_at = $4,
                gateway_payment_id = coalesce(given.gateway_payment_id, payment.gateway_payment_id),
                failure_code = given.failure_code, failure_message = given.failure_message
            FROM given JOIN locked ON locked.id = given.id
            WHERE payment.id = given.id AND payment.status = 'processing' AND payment.process_at = given.lease_until
                AND NOT payment.needs_attention
                AND NOT EXISTS (
                    SELECT 1 FROM {_GATEWAY_EVENTS} AS e WHERE e.payment_id = payment.id AND e.applied_at IS NULL
                )
            RETURNING payment.*
        ), event AS (
            INSERT INTO {_EVENTS} ({_EVENT_COLUMNS})
            SELECT gen_random_uuid(), merchant_id, 'payment.' || status, id, {payload_sql()}, $4, $4, $4
            FROM settled
        )
        SELECT id, status FROM settled
    """  # noqa: S608


SETTLE = _settle(many=False)
"""Settle a final outcome, only while the lease is still the claim's and nothing waits for the payment.

A payment another transaction holds right now (a webhook, say) is skipped and left to the ORM path, which waits
for the lock and applies any refund event deferred meanwhile in the same transaction. ``NOT EXISTS`` covers the
events deferred before this statement began. One committed between that and the lock is invisible to it, but
the webhook that defers an event also makes the payment due (it changes ``process_at``), and ``FOR UPDATE``
checks the lease again on that newest version of the row: the payment is left to the ORM path."""
SETTLE_MANY = _settle(many=True)


class _Coalesced(Generic[_In, _Out]):
    """One kind of statement, at most ``limit`` at a time; the requests that come meanwhile go together, as one.

    Like a group commit: with a free slot a request runs at once and alone, so a quiet worker waits for nothing;
    when the worker is busy, the requests that queued behind the running statements share the next one, and each
    transaction, round trip and commit serves several payments. Two requests with the same ``key`` (two jobs
    holding the same payment) never share a statement: the later one waits for the next, so each is decided on
    the row the other left, as through the ORM. A request whose caller stopped waiting is dropped. A failed
    statement fails each of its requests.
    """

    __slots__ = ("_key", "_limit", "_many", "_one", "_running", "_tasks", "_waiting")

    def __init__(
        self,
        one: Callable[[_In], Awaitable[_Out]],
        many: Callable[[list[_In]], Awaitable[list[_Out]]],
        key: Callable[[_In], Hashable],
        limit: int,
    ) -> None:
        self._one = one
        self._many = many
        self._key = key
        self._limit = limit
        self._running = 0
        self._waiting: list[tuple[_In, asyncio.Future[_Out]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, request: _In) -> _Out:
        if self._running < self._limit:
            self._running += 1
            try:
                return await self._one(request)
            finally:
                self._running -= 1
                self._serve_waiting()
        answer: asyncio.Future[_Out] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, answer))
        return await answer

    async def close(self) -> None:
        """Stop serving the waiting requests (their callers are cancelled)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        waiting, self._waiting = self._waiting, []
        for _, answer in waiting:
            answer.cancel()

    def _serve_waiting(self) -> None:
        if self._waiting and self._running < self._limit:
            self._running += 1
            task = asyncio.create_task(self._run_waiting())  # not the caller's: its own answer is ready
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _next_batch(self) -> list[tuple[_In, asyncio.Future[_Out]]]:
        """The waiting requests still wanted, one per key; the others wait for the next statement."""
        batch: list[tuple[_In, asyncio.Future[_Out]]] = []
        later: list[tuple[_In, asyncio.Future[_Out]]] = []
        keys: set[Hashable] = set()
        for request, answer in self._waiting:
            if answer.done():  # its caller stopped waiting (a job timed out, a worker stopping)
                continue
            key = self._key(request)
            (later if key in keys else batch).append((request, answer))
            keys.add(key)
        self._waiting = later
        return batch

    async def _run_waiting(self) -> None:
        batch: list[tuple[_In, asyncio.Future[_Out]]] = []
        try:
            while batch := self._next_batch():
                requests = [request for request, _ in batch]
                try:
                    answers = [await self._one(requests[0])] if len(requests) == 1 else await self._many(requests)
                except Exception as exc:  # every request of it failed, each caller hears so
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                for (_, answer), value in zip(batch, answers, strict=True):
                    if not answer.done():
                        answer.set_result(value)
        except BaseException:  # cancelled (the worker is stopping): no caller may wait for an answer forever
            for _, answer in [*batch, *self._waiting]:
                answer.cancel()
            self._waiting = []
            raise
        finally:
            self._running -= 1


@dataclass(frozen=True, slots=True)
class Settlement:
    """A final gateway answer for a payment the claim holds (see :data:`SETTLE`)."""

    payment_id: UUID
    lease_until: datetime
    status: PaymentStatus
    gateway_payment_id: str | None
    failure_code: str | None
    failure_message: str | None


class PaymentStatements:
    """The processor's claim, order and settle steps as single statements, on connections of the host's engine.

    Each statement needs a connection for a moment. Taking one from SQLAlchemy's pool and giving it back cost
    more than the statement itself (about 200 µs of CPU here, asyncpg's own pool about 60 µs), so the statements
    keep connections of their own: each is opened by the engine's pool, so the host's URL, connect arguments and
    pool events apply, then detached from it. A connection a statement failed on is dropped, whatever state the
    failure left it in; the others are closed by :meth:`close`.

    Each kind of statement runs at most ``in_flight`` at a time (so at most three times that many connections);
    steps of other jobs that come meanwhile share the next statement of their kind (see :class:`_Coalesced`).

    Args:
        engine: The host's engine (Postgres through asyncpg).
        config: payguard's configuration (clock, lease).
        in_flight: Statements of one kind at once.
    """

    __slots__ = ("_claim", "_closed", "_config", "_engine", "_idle", "_settle", "_store_order")

    def __init__(self, engine: AsyncEngine, config: PayGuardConfig, in_flight: int = 1) -> None:
        self._engine = engine
        self._config = config
        self._idle: list[asyncpg.Connection] = []
        self._closed = False
        self._claim = _Coalesced(self._claim_one, self._claim_many, _same, in_flight)
        self._store_order = _Coalesced(self._store_order_one, self._store_order_many, _first, in_flight)
        self._settle = _Coalesced(self._settle_one, self._settle_many, _payment_of, in_flight)

    @classmethod
    def for_engine(cls, engine: AsyncEngine, config: PayGuardConfig) -> PaymentStatements | None:
        """The statements for this engine, or ``None`` when it is not Postgres through asyncpg."""
        dialect = engine.dialect
        supported = (dialect.name, dialect.driver) == ("postgresql", "asyncpg")
        return cls(engine, config) if supported else None

    async def claim(self, payment_id: UUID) -> Any:
        """Claim the payment if it is due and open; the claimed row (see :data:`CLAIM`), or ``None``."""
        return await _or_none(self._claim(payment_id), "claim", payment_id)

    async def store_order(self, payment_id: UUID, order_id: str) -> str | None:
        """Store the gateway order unless one is stored already; the one stored, or ``None``."""
        return await _or_none(self._store_order((payment_id, order_id)), "order", payment_id)

    async def settle(self, settlement: Settlement) -> PaymentStatus | None:
        """Move a payment the claim still holds to its final status with its event; ``None`` if it was not."""
        return await _or_none(self._settle(settlement), "settlement", settlement.payment_id)

    async def close(self) -> None:
        """Close the connections (a worker or application stopping); one still in use closes when its step ends."""
        self._closed = True
        for coalesced in (self._claim, self._store_order, self._settle):
            await coalesced.close()
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await connection.close(timeout=5)
            except Exception:  # gone already, or not answering: drop it
                connection.terminate()

    # -- the statements, for one payment or several ------------------------------------------------------------

    def _times(self) -> tuple[datetime, datetime]:
        now = self._config.clock.now()
        return now, now + timedelta(seconds=self._config.payment_lease_seconds)

    async def _claim_one(self, payment_id: UUID) -> Any:
        return await self._fetchrow(CLAIM, payment_id, *self._times())

    async def _claim_many(self, payment_ids: list[UUID]) -> list[Any]:
        rows = {row["id"]: row for row in await self._fetch(CLAIM_MANY, payment_ids, *self._times())}
        return [rows.get(payment_id) for payment_id in payment_ids]

    async def _store_order_one(self, request: tuple[UUID, str]) -> str | None:
        row = await self._fetchrow(STORE_ORDER, *request)
        return None if row is None else str(row["gateway_order_id"])

    async def _store_order_many(self, requests: list[tuple[UUID, str]]) -> list[str | None]:
        ids, orders = zip(*requests, strict=True)
        rows = await self._fetch(STORE_ORDER_MANY, list(ids), list(orders))
        stored = {row["id"]: str(row["gateway_order_id"]) for row in rows}
        return [stored.get(payment_id) for payment_id in ids]

    async def _settle_one(self, settlement: Settlement) -> PaymentStatus | None:
        row = await self._fetchrow(SETTLE, *self._settle_args([settlement], many=False))
        return None if row is None else PaymentStatus(row["status"])

    async def _settle_many(self, settlements: list[Settlement]) -> list[PaymentStatus | None]:
        rows = await self._fetch(SETTLE_MANY, *self._settle_args(settlements, many=True))
        settled = {row["id"]: PaymentStatus(row["status"]) for row in rows}
        return [settled.get(settlement.payment_id) for settlement in settlements]

    def _settle_args(self, settlements: list[Settlement], *, many: bool) -> list[Any]:
        columns: list[Any] = [
            [s.payment_id for s in settlements],
            [s.lease_until for s in settlements],
            [s.status.value for s in settlements],
            self._config.clock.now(),
            [s.gateway_payment_id for s in settlements],
            [s.failure_code for s in settlements],
            [s.failure_message for s in settlements],
        ]
        return columns if many else [column if index == 3 else column[0] for index, column in enumerate(columns)]

    # -- connections -------------------------------------------------------------------------------------------

    async def _fetchrow(self, sql: str, *args: Any) -> Any:
        rows = await self._fetch(sql, *args)
        return rows[0] if rows else None

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        """Run one statement on its own: Postgres commits it."""
        connection = await self._take()
        try:
            rows: list[Any] = await connection.fetch(sql, *args, timeout=STATEMENT_TIMEOUT_SECONDS)
        except BaseException:  # an error, a timeout, a cancelled job: do not reuse what it left behind
            connection.terminate()
            raise
        if self._closed:
            await connection.close()
        else:
            self._idle.append(connection)
        return rows

    async def _take(self) -> asyncpg.Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():  # the server may have closed an idle one
                return connection
        return await self._open()

    async def _open(self) -> asyncpg.Connection:
        """A new connection, opened by the engine's pool (the host's settings and events apply), detached from it."""
        pooled = await self._engine.raw_connection()
        connection: asyncpg.Connection = pooled.driver_connection
        pooled.detach()
        if connection.is_in_transaction():
            # A host's pool event ran SQL through SQLAlchemy (``SET search_path``, say), which began a transaction
            # that the connection's first use would have committed. Commit it, or every statement would run
            # inside it and never be seen by anyone else.
            await connection.execute("COMMIT")
        return connection


def _same(payment_id: UUID) -> UUID:
    return payment_id


def _first(request: tuple[UUID, str]) -> UUID:
    return request[0]


def _payment_of(settlement: Settlement) -> UUID:
    return settlement.payment_id


async def _or_none(step: Awaitable[_Out], what: str, payment_id: UUID) -> _Out | None:
    """The statement's answer; ``None`` when it failed, so that the step takes the ORM path.

    Safe whatever the failure: a statement that committed before its answer was lost leaves the payment as the
    ORM path expects to find it after another worker's step (claimed under a lease, order stored, settled).
    """
    try:
        return await step
    except Exception:
        logger.warning(
            "payguard: the %s statement failed for payment %s; the ORM path takes it", what, payment_id, exc_info=True
        )
        return None
