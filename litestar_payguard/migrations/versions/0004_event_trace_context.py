"""The trace context of the code that wrote each outbox event, for its webhook deliveries' spans.

An event is written in the transaction of the change (a request's, a job's); its deliveries are made later by
another job, which had no way to join the change's trace. With the context stored beside the event (W3C
``traceparent`` and ``tracestate``, as OpenTelemetry propagates them), each delivery attempt's span is a child of
the span that wrote its event. ``NULL`` when nothing was traced (no tracer provider, or the ``otel`` extra is not
installed), and for every event written before this revision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import JsonB
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the nullable column (no rewrite of the table on Postgres)."""
    op.add_column("payguard_event", sa.Column("trace_context", JsonB, nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("payguard_event") as batch:
        batch.drop_column("trace_context")
