"""The payment processor's usual steps on Postgres: one statement each, sent through asyncpg.

A worker's step with a payment is small (lock one row, change it, write its outbox event), and through the ORM
each one cost a worker about 2 to 3 ms of CPU against the 1 ms SAQ spends on the job itself
(``benchmarks/payments.py``, ``docs/benchmarks.md``). Here each step is one statement of data-modifying CTEs,
like the stale-payment cleanup's (:mod:`~litestar_payguard.services.pending.expiry_sql`), sent on a connection of the
host's engine: no ORM object, no unit of work, and Postgres commits it on its own.

Each statement changes the payment only when it is exactly as the step expects; otherwise it changes nothing and
answers ``None``, and the processor takes its ORM path, which reads the row under lock and decides every unusual
case (not due, closed, flagged, held by a session, decided meanwhile). So these statements only ever do what
the ORM path would have done in the usual case; the integration tests compare the two.

:mod:`~litestar_payguard.services.processing.fast_path` runs them. Only for Postgres through asyncpg
(:meth:`~litestar_payguard.services.processing.fast_path.PaymentStatements.for_engine`); any other engine takes
the ORM path.
"""

from __future__ import annotations

import re

from sqlalchemy import TextClause, text

from litestar_payguard.models import CheckoutSession, GatewayEvent, OutboxEvent, Payment, PaymentStatus
from litestar_payguard.services.payments import payload_sql

__all__ = (
    "CLAIM",
    "CLAIM_MANY",
    "RECORD_FINAL",
    "RECORD_FINAL_BOUND",
    "RECORD_FINAL_MANY",
    "STORE_ORDER",
    "STORE_ORDER_MANY",
)

_PROCESSING_EVENT = f"payment.{PaymentStatus.PROCESSING.value}"
_PAYMENTS = Payment.__tablename__
_SESSIONS = CheckoutSession.__tablename__
_EVENTS = OutboxEvent.__tablename__
_GATEWAY_EVENTS = GatewayEvent.__tablename__
_EVENT_COLUMNS = "id, merchant_id, type, subject_id, payload, occurred_at, created_at, updated_at, trace_context"

# Built from constants only: no caller's value reaches the SQL text. Each statement has a form for one payment
# and one for several, differing only in where the input comes from (parameters, or arrays of them).


def _claim(*, many: bool) -> str:
    pick = "id = ANY($1::uuid[])" if many else "id = $1"
    # Each payment's event carries its job's trace context ($4: JSON text, or an array of them beside $1's ids).
    trace = (
        "(SELECT t.trace FROM unnest($1::uuid[], $4::text[]) AS t(id, trace) WHERE t.id = claimed.id)::jsonb"
        if many
        else "$4::jsonb"
    )
    return f"""
        WITH locked AS (
            SELECT id, status, needs_attention, process_at FROM {_PAYMENTS}
            WHERE {pick}
            ORDER BY id
            FOR UPDATE SKIP LOCKED
        ), due AS (
            SELECT id, status FROM locked
            WHERE status IN ('pending', 'processing') AND NOT needs_attention AND process_at <= $2
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
            SELECT gen_random_uuid(), merchant_id, '{_PROCESSING_EVENT}', id, {payload_sql()}, $2, $2, $2, {trace}
            FROM claimed WHERE was = 'pending'
        )
        SELECT id, mode, gateway, amount, currency, process_at, process_attempts, gateway_order_id,
            gateway_payment_id, method, method_details::text AS method_details, was,
            EXISTS (SELECT 1 FROM {_SESSIONS} AS s WHERE s.payment_id = claimed.id) AS has_session
        FROM claimed
    """  # noqa: S608


CLAIM = _claim(many=False)
"""Claim a due payment: ``pending`` → ``processing`` (with its event) or a retry of ``processing``; a new lease.

A payment another transaction holds right now is skipped (``SKIP LOCKED``): its job takes the ORM path and waits
for the lock there, alone, rather than holding up the other jobs' steps that share this statement. The row is
locked by its id alone and the conditions are checked on what the lock returns, the newest version of the row,
so a payment another transaction decided, flagged or leased since the statement began is not claimed. Several
are locked in the order of their ids."""
CLAIM_MANY = _claim(many=True)


def _store_order(*, many: bool) -> str:
    given = (
        "SELECT * FROM unnest($1::uuid[], $2::text[]) AS given(id, order_id)"
        if many
        else "SELECT $1::uuid AS id, $2::text AS order_id"
    )
    return f"""
        WITH given AS NOT MATERIALIZED ({given}), locked AS (
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


def _record_final(*, many: bool, returning: str = "id, status") -> str:
    given = (
        "SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $5::text[], $6::text[], $7::text[], "
        "$8::text[]) AS given(id, lease_until, status, gateway_payment_id, failure_code, failure_message, trace)"
        if many
        else "SELECT $1::uuid AS id, $2::timestamptz AS lease_until, $3::text AS status, "
        "$5::text AS gateway_payment_id, $6::text AS failure_code, $7::text AS failure_message, $8::text AS trace"
    )
    return f"""
        WITH given AS NOT MATERIALIZED ({given}), locked AS (
            SELECT payment.id, payment.status, payment.process_at, payment.needs_attention
            FROM {_PAYMENTS} AS payment JOIN given ON payment.id = given.id
            ORDER BY payment.id
            FOR UPDATE OF payment SKIP LOCKED
        ), held AS (
            SELECT given.* FROM given JOIN locked ON locked.id = given.id
            WHERE locked.status = 'processing' AND locked.process_at = given.lease_until AND NOT locked.needs_attention
                AND NOT EXISTS (
                    SELECT 1 FROM {_GATEWAY_EVENTS} AS e WHERE e.payment_id = given.id AND e.applied_at IS NULL
                )
        ), recorded AS (
            UPDATE {_PAYMENTS} AS payment
            SET status = held.status, process_at = NULL, updated_at = $4,
                gateway_payment_id = coalesce(held.gateway_payment_id, payment.gateway_payment_id),
                failure_code = held.failure_code, failure_message = held.failure_message
            FROM held WHERE payment.id = held.id
            RETURNING payment.*
        ), event AS (
            INSERT INTO {_EVENTS} ({_EVENT_COLUMNS})
            SELECT gen_random_uuid(), merchant_id, 'payment.' || status, id, {payload_sql()}, $4, $4, $4,
                (SELECT given.trace FROM given WHERE given.id = recorded.id)::jsonb
            FROM recorded
        )
        SELECT {returning} FROM recorded
    """  # noqa: S608


RECORD_FINAL = _record_final(many=False)
"""Record a final outcome, only while the lease is still the claim's and nothing waits for the payment.

A payment another transaction holds right now (a webhook, say) is skipped and left to the ORM path, which waits
for the lock and applies any refund event deferred meanwhile in the same transaction. ``NOT EXISTS`` covers the
events deferred before this statement began. One committed between that and the lock is invisible to it, but
the webhook that defers an event also makes the payment due (it changes ``process_at``), and the lease is checked
on what ``FOR UPDATE`` returns, that newest version of the row: the payment is left to the ORM path.

Every statement here finds its rows by primary key alone and checks the rest on the locked row. Given the
conditions, the planner took the ``(status, created_at)`` index and read every ``processing`` payment to finish
one, because the statistics see few of them; with a backlog of slow payments that costs milliseconds each."""
RECORD_FINAL_MANY = _record_final(many=True)


def _bound(sql: str) -> TextClause:
    """The statement for SQLAlchemy: ``$n::type`` becomes ``CAST(:pn AS type)``, ``$n`` becomes ``:pn``."""
    cast = re.sub(r"\$(\d+)::(\w+(?:\[\])?)", r"CAST(:p\1 AS \2)", sql)
    return text(re.sub(r"\$(\d+)", r":p\1", cast))


RECORD_FINAL_BOUND = _bound(_record_final(many=False, returning="*"))
""":data:`RECORD_FINAL` with named parameters (``p1`` …) answering the whole recorded row, to run in a session's
transaction (the fulfilment hook's) and load the :class:`~litestar_payguard.models.Payment` the hook is given."""
