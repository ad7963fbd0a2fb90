"""The checkout pages: a session's client secret and return URLs, a merchant's allowed origins.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import JsonB
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the columns; existing sessions have no secret (they go on through the host's sign-in)."""
    with op.batch_alter_table("payguard_session") as table:
        table.add_column(sa.Column("client_secret_hash", sa.String(length=128), nullable=True))
        table.add_column(sa.Column("success_url", sa.String(length=2048), nullable=True))
        table.add_column(sa.Column("cancel_url", sa.String(length=2048), nullable=True))
    with op.batch_alter_table("payguard_merchant") as table:
        table.add_column(sa.Column("allowed_origins", JsonB, server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    """Drop the columns (sessions lose their secrets and return URLs, merchants their origins)."""
    with op.batch_alter_table("payguard_merchant") as table:
        table.drop_column("allowed_origins")
    with op.batch_alter_table("payguard_session") as table:
        table.drop_column("cancel_url")
        table.drop_column("success_url")
        table.drop_column("client_secret_hash")
