"""A batch of delivered attempts recorded, and the endpoint's next due deliveries taken, in two statements.

In a run of one endpoint's backlog (:meth:`~.deliver.WebhookDeliverer.deliver_due`) the usual batch is one whose
every attempt was answered 2xx. Through the ORM, recording it and taking the next batch cost about ten statements
(lock the endpoint, lock the deliveries, insert the attempts, update the deliveries, count the attempts in flight,
lock the next due ones, read their events, write their leases) and a commit: more CPU per delivery than the POST
itself (``benchmarks/webhooks.py``, ``docs/benchmarks.md``). Here it is a transaction of two statements sent on a
driver connection of the host's engine: :data:`LOCK_ENDPOINT`, then :data:`RECORD_DELIVERED`.

The endpoint is locked first, in a statement of its own, for two reasons: everything that changes deliveries
locks their endpoint before them (:func:`~.outcome.lock_delivery`), and the count of the attempts in flight must
see every lease committed before the lock was granted. Postgres gives each statement of a ``READ COMMITTED``
transaction its own snapshot, taken when it starts, so the count in the second statement sees them; in one
statement with the lock, a lease committed between its start and the lock would be missed and the endpoint could
get more attempts in flight than its limit.

It does only what the ORM path does in that usual case, and only while the endpoint is enabled: disabled or
deleted, nothing is changed and the batch takes the ORM path, which decides every unusual case. Each attempt is
stored; a delivery changes only while the attempt's lease is still its own (``UPDATE`` checks it on the newest
version of the row).

Only for Postgres through asyncpg (:meth:`.fast_path.DeliveryStatements.for_engine`).
"""

from __future__ import annotations

from litestar_payguard.models import (
    AttemptTrigger,
    DeliveryStatus,
    Merchant,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = ("LOCK_ENDPOINT", "LOCK_ENDPOINT_OF", "RECORD_DELIVERED", "TAKE_DUE")

_ENDPOINTS = WebhookEndpoint.__tablename__
_MERCHANTS = Merchant.__tablename__
_DELIVERIES = WebhookDelivery.__tablename__
_ATTEMPTS = WebhookAttempt.__tablename__
_EVENTS = OutboxEvent.__tablename__
_PENDING = DeliveryStatus.PENDING.value
_DELIVERED = DeliveryStatus.DELIVERED.value
_SCHEDULED = AttemptTrigger.SCHEDULED.value
_MANUAL = AttemptTrigger.MANUAL.value


def _leasing(*, now: str, lease_until: str) -> str:
    """The CTEs ``leased`` (the ``due`` rows leased for an attempt each) and ``taken`` (them with their events)."""
    return f"""leased AS (
        UPDATE {_DELIVERIES} AS delivery
        SET attempts = delivery.attempts + 1, lease_until = {lease_until}, last_attempt_at = {now},
            manual_retry = false, updated_at = {now}
        FROM due WHERE delivery.id = due.id
        RETURNING delivery.id, delivery.event_id, delivery.attempts, delivery.next_attempt_at, due.manual_retry,
            due.rank
    ), taken AS (
        SELECT leased.id, leased.attempts, leased.next_attempt_at, leased.rank,
            CASE WHEN leased.manual_retry THEN '{_MANUAL}' ELSE '{_SCHEDULED}' END AS trigger,
            event.id AS event_id, event.type, event.subject_id, event.occurred_at, event.payload::text AS payload,
            event.trace_context::text AS trace_context
        FROM leased JOIN {_EVENTS} AS event ON event.id = leased.event_id
    )"""  # noqa: S608


# Built from constants only: no caller's value reaches the SQL text.
LOCK_ENDPOINT = f"""
    SELECT url, secret, previous_secret, previous_secret_expires_at, enabled AND deleted_at IS NULL AS usable
    FROM {_ENDPOINTS} WHERE id = $1
    FOR UPDATE
"""  # noqa: S608
"""Lock the endpoint (``$1``) for the transaction; what its next attempts send to, and whether it still takes any."""

LOCK_ENDPOINT_OF = f"""
    SELECT endpoint.id, endpoint.url, endpoint.secret, endpoint.previous_secret, endpoint.previous_secret_expires_at,
        endpoint.enabled AND endpoint.deleted_at IS NULL AS usable, merchant.test_mode
    FROM {_ENDPOINTS} AS endpoint JOIN {_MERCHANTS} AS merchant ON merchant.id = endpoint.merchant_id
    WHERE endpoint.id = (SELECT endpoint_id FROM {_DELIVERIES} WHERE id = $1)
    FOR UPDATE OF endpoint
"""  # noqa: S608
"""Lock the endpoint of the delivery ``$1`` for the transaction, as :data:`LOCK_ENDPOINT` does, with its merchant's
test mode."""

TAKE_DUE = f"""
    WITH asked AS MATERIALIZED (
        SELECT id, manual_retry, 0 AS rank FROM {_DELIVERIES}
        WHERE id = $1 AND status = '{_PENDING}' AND (lease_until IS NULL OR lease_until <= $3)
            AND (next_attempt_at <= $3 OR manual_retry)
        FOR UPDATE
    ), room AS MATERIALIZED (
        SELECT greatest($4::int - count(*), 0) AS free FROM {_DELIVERIES} AS held
        WHERE held.endpoint_id = $2 AND held.lease_until > $3
    ), others AS MATERIALIZED (
        SELECT delivery.id, delivery.manual_retry, 1 AS rank FROM {_DELIVERIES} AS delivery
        WHERE EXISTS (SELECT 1 FROM asked) AND delivery.endpoint_id = $2 AND delivery.status = '{_PENDING}'
            AND delivery.next_attempt_at <= $3 AND (delivery.lease_until IS NULL OR delivery.lease_until <= $3)
            AND delivery.id <> $1
        ORDER BY delivery.next_attempt_at, delivery.id
        LIMIT greatest((SELECT free FROM room) - 1, 0)
        FOR UPDATE OF delivery SKIP LOCKED
    ), due AS (
        SELECT * FROM asked WHERE (SELECT free FROM room) > 0
        UNION ALL
        SELECT * FROM others
    ), {_leasing(now="$3", lease_until="$5")}
    SELECT (SELECT free FROM room) AS free, taken.*
    FROM taken
    ORDER BY taken.rank, taken.next_attempt_at, taken.id
"""  # noqa: S608
"""Take the delivery ``$1`` of the endpoint the transaction locked (``$2``) for an attempt if it is due at ``$3``,
and with it the endpoint's other due deliveries, as many as keep at most ``$4`` attempts in flight, leased until
``$5``: what a run takes first (:meth:`~.taking.AttemptTaker.take`, ``more=True``).

One row per delivery taken, the asked one first, with how many attempts the endpoint had free; no row when the
asked one is not due now or the endpoint has no attempt free (nothing is changed: the ORM path says why)."""

RECORD_DELIVERED = f"""
    WITH given AS NOT MATERIALIZED (
        SELECT * FROM unnest($2::uuid[], $3::timestamptz[], $4::int[], $5::text[], $6::timestamptz[], $7::int[],
            $8::int[], $9::text[], $10::text[], $11::text[])
        AS given(id, lease_until, number, trigger, started_at, duration_ms, status, headers, body, detail)
    ), logged AS (
        INSERT INTO {_ATTEMPTS} (id, delivery_id, number, trigger, started_at, duration_ms, response_status,
            response_headers, response_body, error_kind, error_detail, created_at, updated_at)
        SELECT gen_random_uuid(), id, number, trigger, started_at, duration_ms, status, headers::jsonb, body, NULL,
            detail, $12, $12
        FROM given
    ), recorded AS (
        UPDATE {_DELIVERIES} AS delivery
        SET status = '{_DELIVERED}', next_attempt_at = NULL, lease_until = NULL, updated_at = $12
        FROM given
        WHERE delivery.id = given.id AND delivery.lease_until = given.lease_until
        RETURNING delivery.id
    ), kept AS MATERIALIZED (
        -- the batch's deliveries whose lease another attempt took over: they stay as that attempt leaves them
        SELECT delivery.id, delivery.status, delivery.next_attempt_at FROM {_DELIVERIES} AS delivery JOIN given
            ON delivery.id = given.id AND delivery.lease_until IS DISTINCT FROM given.lease_until
    ), healed AS (
        UPDATE {_ENDPOINTS} SET failing_since = NULL, updated_at = $12
        WHERE id = $1 AND failing_since IS NOT NULL AND EXISTS (SELECT 1 FROM recorded)
    ), room AS MATERIALIZED (
        -- every lease held but those this statement gives back (a taken-over one is another attempt's, in flight)
        SELECT greatest($13::int - count(*), 0) AS free FROM {_DELIVERIES} AS held
        WHERE held.endpoint_id = $1 AND held.lease_until > $12
            AND NOT EXISTS (SELECT 1 FROM given WHERE given.id = held.id AND given.lease_until = held.lease_until)
    ), due AS MATERIALIZED (
        SELECT delivery.id, delivery.manual_retry, 1 AS rank FROM {_DELIVERIES} AS delivery
        WHERE delivery.endpoint_id = $1 AND delivery.status = '{_PENDING}'
            AND delivery.next_attempt_at <= $12 AND (delivery.lease_until IS NULL OR delivery.lease_until <= $12)
            AND delivery.id <> ALL($2::uuid[])
        ORDER BY delivery.next_attempt_at, delivery.id
        LIMIT (SELECT free FROM room)
        FOR UPDATE OF delivery SKIP LOCKED
    ), {_leasing(now="$12", lease_until="$14")}
    SELECT ARRAY(SELECT id FROM recorded) AS recorded, (SELECT free FROM room) AS free,
        ARRAY(SELECT id FROM kept ORDER BY id) AS kept_ids, ARRAY(SELECT status FROM kept ORDER BY id) AS kept_status,
        ARRAY(SELECT next_attempt_at FROM kept ORDER BY id) AS kept_next, taken.*
    FROM (SELECT 1) AS one LEFT JOIN taken ON true
    ORDER BY taken.rank, taken.next_attempt_at, taken.id
"""  # noqa: S608
"""Record delivered attempts of the endpoint the transaction locked (``$1``; the attempts as columns ``$2`` …
``$11``, at ``$12``) and lease its next due deliveries, as many as keep at most ``$13`` attempts in flight, until
``$14``.

One row per delivery taken (or one row with ``NULL`` in their columns), each with the ids of the deliveries
recorded as delivered, the status and due time of the others (whose lease another attempt took over: the ORM path
leaves them as they are too) and how many attempts the endpoint had free."""
