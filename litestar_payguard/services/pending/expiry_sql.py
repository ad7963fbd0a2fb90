"""One batch of the stale-payment cleanup, set-wise: expire the payments, write their outbox events, count them.

On Postgres a batch is a single statement (data-modifying CTEs): no row travels to Python, which is what lets
the job keep up with a bulk ``UPDATE`` (``benchmarks/cleanup.py``). Other databases (the demo's SQLite) take a
portable path of three statements with the same effect. Both render each event's payload exactly as
:func:`~litestar_payguard.schemas.payments.payment_view` does, which the integration tests compare.

Rows are picked ``FOR UPDATE SKIP LOCKED``: a row another transaction holds (another run, a customer paying
again) is left to it, so concurrent runs never expire a payment twice; ``status = 'pending'`` is checked again on
the row the UPDATE locks. The pick is a CTE, computed once: as an ``IN (subquery)`` Postgres may run it again
per row and update more than the batch size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

import msgspec
from sqlalchemy import bindparam, case, select, text, update

from litestar_payguard.models import CleanupRun, Payment, PaymentStatus
from litestar_payguard.observability import count_events, trace_json
from litestar_payguard.schemas.payments import Payment as PaymentView
from litestar_payguard.services.payments import payload_sql

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.services.outbox import Outbox

__all__ = ("EXPIRED_EVENT", "START", "ExpiredBatch", "expire_stale")

EXPIRED_EVENT = f"payment.{PaymentStatus.EXPIRED.value}"
START = datetime(1970, 1, 1, tzinfo=UTC)
"""Where a run's cursor starts: before any payment."""


@dataclass(frozen=True, slots=True)
class ExpiredBatch:
    """What one batch expired: how many, and the creation time of the newest (the next batch starts there)."""

    count: int
    last_created_at: datetime | None


_PAYMENTS = cast("Table", Payment.__table__)
_RUNS = cast("Table", CleanupRun.__table__)
_payment = _PAYMENTS.c

# Postgres: one statement per batch.


def _postgres_statement(*, owned: bool) -> Any:
    owner = "AND merchant_id = :owner_merchant AND customer_id = :owner_customer" if owned else ""
    # The CASEs on gateway_order_id are payments.due_for_closed_check in SQL: a worker asks about the order.
    # Built from constants only: no caller's value reaches the SQL text.
    sql = f"""
        WITH stale AS (
            SELECT id FROM payguard_payment
            WHERE status = 'pending' AND created_at <= :cutoff AND created_at >= :after {owner}
            ORDER BY created_at LIMIT :limit
            FOR UPDATE SKIP LOCKED
        ), expired AS (
            UPDATE payguard_payment AS payment
            SET status = 'expired', failure_code = 'stale', failure_message = NULL, updated_at = :now,
                process_at = CASE WHEN payment.gateway_order_id IS NULL THEN payment.process_at ELSE :now END,
                process_attempts = CASE WHEN payment.gateway_order_id IS NULL THEN payment.process_attempts ELSE 0 END
            FROM stale WHERE payment.id = stale.id AND payment.status = 'pending'
            RETURNING payment.*
        ), events AS (
            INSERT INTO payguard_event (
                id, merchant_id, type, subject_id, payload, occurred_at, created_at, updated_at, trace_context)
            SELECT gen_random_uuid(), merchant_id, '{EXPIRED_EVENT}', id, {payload_sql()}, :now, :now, :now,
                CAST(:trace AS jsonb)
            FROM expired
        ), counted AS (
            UPDATE payguard_cleanup_run
            SET expired_count = expired_count + (SELECT count(*) FROM expired), batches = batches + 1, updated_at = :now
            WHERE id = :run_id
        )
        SELECT count(*), max(created_at) FROM expired
    """  # noqa: S608
    return text(sql)


# Built once, so their compiled form is cached: a run executes them once per batch.
_POSTGRES_ANY = _postgres_statement(owned=False)
_POSTGRES_OWNED = _postgres_statement(owned=True)

# Anything else: the same, in three statements.


def _portable_statement(*, owned: bool) -> Any:
    picked = (
        select(_payment.id)
        .where(
            _payment.status == PaymentStatus.PENDING,
            _payment.created_at <= bindparam("cutoff"),
            _payment.created_at >= bindparam("after"),
        )
        .order_by(_payment.created_at)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    if owned:
        picked = picked.where(
            _payment.merchant_id == bindparam("owner_merchant"), _payment.customer_id == bindparam("owner_customer")
        )
    stale = picked.cte("stale")
    return (
        update(_PAYMENTS)
        .where(_payment.id.in_(select(stale.c.id)), _payment.status == PaymentStatus.PENDING)
        .values(
            status=PaymentStatus.EXPIRED,
            failure_code="stale",
            failure_message=None,
            updated_at=bindparam("now"),
            # Its gateway order may have been paid all the same: a worker asks (payments.due_for_closed_check).
            process_at=case((_payment.gateway_order_id.is_(None), _payment.process_at), else_=bindparam("now")),
            process_attempts=case((_payment.gateway_order_id.is_(None), _payment.process_attempts), else_=0),
        )
        .returning(_PAYMENTS)
    )


_PORTABLE_ANY = _portable_statement(owned=False)
_PORTABLE_OWNED = _portable_statement(owned=True)
_COUNT_BATCH = (
    update(_RUNS)
    .where(_RUNS.c.id == bindparam("run_id"))
    .values(
        expired_count=_RUNS.c.expired_count + bindparam("expired"),
        batches=_RUNS.c.batches + 1,
        updated_at=bindparam("now"),
    )
)


async def expire_stale(
    db: AsyncSession,
    *,
    run_id: UUID,
    cutoff: datetime,
    limit: int,
    now: datetime,
    after: datetime = START,
    outbox: Outbox,
    owner: tuple[UUID, str] | None = None,
) -> ExpiredBatch:
    """Expire up to ``limit`` pending payments created at or before ``cutoff``, oldest first; count them on the run.

    A run passes each batch's ``last_created_at`` as the next one's ``after``: a batch then starts its index scan
    where the last one stopped, instead of stepping again over the entries of every payment already expired
    (they stay in the index until vacuum), which made a run's time grow with the square of its size.

    Args:
        db: The session whose transaction the batch joins.
        run_id: The cleanup run to count the batch on.
        cutoff: Payments created at or before it are stale.
        limit: Most payments to expire.
        now: The time of the change (``updated_at``, the events' ``occurred_at``).
        after: Only payments created at or after it.
        outbox: Where the portable path records the events (Postgres writes them in its statement).
        owner: Only this (merchant, customer)'s payments.

    Returns:
        The batch; fewer than ``limit`` expired means none are left (but rows other transactions hold right now).
    """
    params: dict[str, Any] = {"cutoff": cutoff, "limit": limit, "now": now, "after": after}
    if owner is not None:
        params |= {"owner_merchant": owner[0], "owner_customer": owner[1]}
    if db.get_bind().dialect.name == "postgresql":
        statement = _POSTGRES_OWNED if owner else _POSTGRES_ANY
        count, last = (await db.execute(statement, {**params, "run_id": run_id, "trace": trace_json()})).one()
        count_events(db, EXPIRED_EVENT, int(count))
        return ExpiredBatch(count=int(count), last_created_at=last)
    rows = (await db.execute(_PORTABLE_OWNED if owner else _PORTABLE_ANY, params)).all()
    for row in rows:
        view = PaymentView(**{field.name: getattr(row, field.name) for field in msgspec.structs.fields(PaymentView)})
        outbox.record(merchant_id=row.merchant_id, type=EXPIRED_EVENT, subject_id=row.id, payload=view, at=now)
    await db.execute(_COUNT_BATCH, {"run_id": run_id, "expired": len(rows), "now": now})
    return ExpiredBatch(count=len(rows), last_created_at=max((row.created_at for row in rows), default=None))
