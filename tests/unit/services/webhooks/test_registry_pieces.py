"""Small pieces of the webhook registry: signing secrets, cursors, the purge's schedule."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import select

from litestar_payguard import PayGuardConfig
from litestar_payguard.jobs import FUNCTIONS, cron_jobs, purge_events
from litestar_payguard.models import WebhookEndpoint
from litestar_payguard.services.paging import InvalidCursorError, encode_cursor, page_after


def test_a_cursor_leads_past_its_row_and_a_foreign_one_is_refused() -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    row = uuid4()
    statement = page_after(
        select(WebhookEndpoint),
        WebhookEndpoint.created_at,
        WebhookEndpoint.id,
        cursor=encode_cursor(at, row),
        limit=10,
    )
    compiled = statement.compile()

    assert at in compiled.params.values()
    assert row in compiled.params.values()
    assert 11 in compiled.params.values()  # one past the page: whether more follow
    naive = base64.urlsafe_b64encode(f"2026-03-01T12:00:00|{row}".encode()).decode()  # no UTC offset
    for foreign in ("nope", naive, base64.urlsafe_b64encode(b"2026-03-01T12:00:00+00:00|x").decode()):
        with pytest.raises(InvalidCursorError):
            page_after(select(WebhookEndpoint), WebhookEndpoint.created_at, WebhookEndpoint.id, cursor=foreign, limit=1)


def test_the_event_purge_is_a_worker_function_on_a_schedule() -> None:
    config = PayGuardConfig(queue_url="redis://x")

    assert purge_events in FUNCTIONS
    assert any(job.function is purge_events for job in cron_jobs(config))
