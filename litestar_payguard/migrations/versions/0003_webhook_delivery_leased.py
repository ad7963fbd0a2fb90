"""A partial index on webhook deliveries for counting an endpoint's attempts in flight.

Every batch of a delivery job counts the endpoint's attempts in flight (``lease_until > now``). No index served
that count, so Postgres scanned the whole delivery table, every endpoint's deliveries kept for the event retention
(30 days): 35 ms at 200 000 rows, and growing with the table. The index holds only the leased rows, a handful.

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
    """Create the index (small: only leased rows; Postgres holds writes to the table while it is built)."""
    op.create_index(
        "ix_payguard_webhook_delivery_leased",
        "payguard_webhook_delivery",
        ["endpoint_id", "lease_until"],
        unique=False,
        postgresql_where=sa.text(LEASED),
        sqlite_where=sa.text(LEASED),
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_payguard_webhook_delivery_leased", table_name="payguard_webhook_delivery")
