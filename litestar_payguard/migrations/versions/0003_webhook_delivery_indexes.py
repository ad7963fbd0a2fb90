"""Two indexes on webhook deliveries: an endpoint's attempts in flight, and its due deliveries.

Every batch of a delivery job counts the endpoint's attempts in flight (``lease_until > now``). No index served
that count, so Postgres scanned the whole delivery table, every endpoint's deliveries kept for the event retention
(30 days): 31 ms at 200 000 rows, and growing with the table. The partial index holds only the leased rows.

The sweep picks, for each endpoint, its longest due delivery, and a run's next batch is the endpoint's due ones:
both look up (endpoint, status, due time, id) instead of reading every due row of every endpoint (the id breaks
the ties of a batch fanned out at one time, so the first is one index entry).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

LEASED = "lease_until IS NOT NULL"


def upgrade() -> None:
    """Create the indexes (Postgres holds writes to the table while each is built)."""
    op.create_index(
        "ix_payguard_webhook_delivery_leased",
        "payguard_webhook_delivery",
        ["endpoint_id", "lease_until"],
        unique=False,
        postgresql_where=sa.text(LEASED),
        sqlite_where=sa.text(LEASED),
    )
    op.create_index(
        "ix_payguard_webhook_delivery_endpoint_due",
        "payguard_webhook_delivery",
        ["endpoint_id", "status", "next_attempt_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the indexes."""
    op.drop_index("ix_payguard_webhook_delivery_endpoint_due", table_name="payguard_webhook_delivery")
    op.drop_index("ix_payguard_webhook_delivery_leased", table_name="payguard_webhook_delivery")
