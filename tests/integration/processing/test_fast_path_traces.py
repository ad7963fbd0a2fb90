"""The fast path's statements store each payment's own trace context with its event, NULL when untraced."""

from __future__ import annotations

import json
import random
from datetime import timedelta

from litestar_payguard.services.processing.fast_path_sql import CLAIM_MANY, RECORD_FINAL_MANY
from litestar_payguard.testing import ManualClock
from tests.integration.conftest import Client, Store
from tests.integration.processing.test_fast_path import PENDING
from tests.integration.test_payments_api import seed_merchants


def _context(n: int) -> str:
    return json.dumps({"traceparent": f"00-{n:032x}-{n:016x}-01"})


async def test_claims_and_outcomes_of_several_payments_keep_each_ones_trace_context(
    client: Client, store: Store, clock: ManualClock
) -> None:
    await seed_merchants(client)
    merchant = await store.scalar("SELECT id FROM payguard_merchant WHERE api_key = 'key_acme'")
    await store.execute(PENDING, merchant=merchant, now=clock.now(), count=4)
    ids = [row["id"] for row in await store.rows("SELECT id FROM payguard_payment ORDER BY customer_id")]
    traced = {payment_id: (_context(n + 1) if n != 1 else None) for n, payment_id in enumerate(ids)}
    order = random.sample(ids, len(ids))  # the arrays' order is not the rows'
    now, lease = clock.now(), clock.now() + timedelta(seconds=120)

    async with store.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        claimed = await raw.fetch(CLAIM_MANY, order, now, lease, [traced[i] for i in order])
        recorded = await raw.fetch(
            RECORD_FINAL_MANY,
            order,
            [row["process_at"] for row in sorted(claimed, key=lambda row: order.index(row["id"]))],
            ["succeeded"] * 4,
            now,
            [f"pay_{n}" for n in range(4)],
            [None] * 4,
            [None] * 4,
            [traced[i] for i in order],
        )

    assert (len(claimed), len(recorded)) == (4, 4)
    events = await store.rows(
        "SELECT subject_id, type, jsonb_typeof(trace_context) AS kind, trace_context->>'traceparent' AS parent "
        "FROM payguard_event WHERE type IN ('payment.processing', 'payment.succeeded')"
    )
    assert len(events) == 8
    for event in events:
        expected = traced[event["subject_id"]]
        assert event["kind"] == (None if expected is None else "object")
        assert event["parent"] == (None if expected is None else json.loads(expected)["traceparent"])
