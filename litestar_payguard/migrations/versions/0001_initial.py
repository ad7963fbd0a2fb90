"""payguard's schema before the checkout pages: every table, as the suite's previous stops left it.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create every payguard table."""
    op.create_table(
        "payguard_idempotency_key",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("scope", sa.String(length=512), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum("in_progress", "completed", name="idempotencystatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("locked_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=True),
        sa.Column("response_headers", JsonB, nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_idempotency_key")),
        sa.UniqueConstraint("scope", "key", name="uq_payguard_idempotency_key_scope_key"),
    )
    op.create_index("ix_payguard_idempotency_key_expires_at", "payguard_idempotency_key", ["expires_at"], unique=False)
    op.create_table(
        "payguard_job_control",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_job_control")),
        sa.UniqueConstraint("job", name=op.f("uq_payguard_job_control_job")),
    )
    op.create_table(
        "payguard_merchant",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api_key", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=True),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_merchant")),
        sa.UniqueConstraint("api_key", name=op.f("uq_payguard_merchant_api_key")),
    )
    op.create_table(
        "payguard_cleanup_run",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column(
            "trigger",
            sa.Enum("cron", "manual", "customer", name="cleanuptrigger", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("merchant_id", GUID(length=16), nullable=True),
        sa.Column("customer_id", sa.String(length=255), nullable=True),
        sa.Column("started_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("finished_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("expired_count", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["payguard_merchant.id"],
            name=op.f("fk_payguard_cleanup_run_merchant_id_payguard_merchant"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_cleanup_run")),
    )
    op.create_index("ix_payguard_cleanup_run_started", "payguard_cleanup_run", ["started_at"], unique=False)
    op.create_table(
        "payguard_event",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("merchant_id", GUID(length=16), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", GUID(length=16), nullable=False),
        sa.Column("payload", JsonB, nullable=False),
        sa.Column("occurred_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("fanned_out_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["payguard_merchant.id"],
            name=op.f("fk_payguard_event_merchant_id_payguard_merchant"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_event")),
    )
    op.create_index("ix_payguard_event_created", "payguard_event", ["created_at"], unique=False)
    op.create_index("ix_payguard_event_fan_out", "payguard_event", ["fanned_out_at", "created_at"], unique=False)
    op.create_index("ix_payguard_event_merchant_created", "payguard_event", ["merchant_id", "created_at"], unique=False)
    op.create_index("ix_payguard_event_merchant_time", "payguard_event", ["merchant_id", "occurred_at"], unique=False)
    op.create_table(
        "payguard_payment",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("merchant_id", GUID(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("bundle_id", sa.String(length=128), nullable=False),
        sa.Column("plan_name", sa.String(length=128), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "succeeded",
                "failed",
                "cancelled",
                "expired",
                "partially_refunded",
                "refunded",
                name="paymentstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("mode", sa.Enum("test", "live", name="paymentmode", native_enum=False, length=32), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("gateway_payment_id", sa.String(length=255), nullable=True),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column("metadata", JsonB, nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("method_details", JsonB, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("gateway_order_id", sa.String(length=255), nullable=True),
        sa.Column("amount_refunding", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("process_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("processing_started_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("process_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("fulfilment_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("needs_attention", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("attention_reason", sa.String(length=500), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payguard_payment_amount_positive")),
        sa.CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount", name=op.f("ck_payguard_payment_refunds_within_amount")
        ),
        sa.CheckConstraint(
            "amount_refunding >= 0 AND amount_refunded + amount_refunding <= amount",
            name=op.f("ck_payguard_payment_reserved_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["payguard_merchant.id"],
            name=op.f("fk_payguard_payment_merchant_id_payguard_merchant"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_payment")),
    )
    op.create_index(
        "ix_payguard_payment_due",
        "payguard_payment",
        ["process_at"],
        unique=False,
        postgresql_where=sa.text("process_at IS NOT NULL"),
        sqlite_where=sa.text("process_at IS NOT NULL"),
    )
    op.create_index(
        "ix_payguard_payment_gateway_order", "payguard_payment", ["gateway", "gateway_order_id"], unique=False
    )
    op.create_index(
        "ix_payguard_payment_gateway_ref", "payguard_payment", ["gateway", "gateway_payment_id"], unique=False
    )
    op.create_index(
        "ix_payguard_payment_merchant_time", "payguard_payment", ["merchant_id", "created_at"], unique=False
    )
    op.create_index("ix_payguard_payment_open_age", "payguard_payment", ["status", "created_at"], unique=False)
    op.create_index(
        "ix_payguard_payment_owner", "payguard_payment", ["merchant_id", "customer_id", "bundle_id"], unique=False
    )
    op.create_index(
        "uq_payguard_payment_open_bundle",
        "payguard_payment",
        ["merchant_id", "customer_id", "bundle_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'processing')"),
        sqlite_where=sa.text("status IN ('pending', 'processing')"),
    )
    op.create_table(
        "payguard_webhook_endpoint",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("merchant_id", GUID(length=16), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("event_types", JsonB, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("disabled_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("failing_since", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("deleted_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["payguard_merchant.id"],
            name=op.f("fk_payguard_webhook_endpoint_merchant_id_payguard_merchant"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_webhook_endpoint")),
    )
    op.create_index(
        "ix_payguard_webhook_endpoint_merchant",
        "payguard_webhook_endpoint",
        ["merchant_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "payguard_gateway_event",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payment_id", GUID(length=16), nullable=True),
        sa.Column("gateway_payment_id", sa.String(length=255), nullable=True),
        sa.Column("gateway_order_id", sa.String(length=255), nullable=True),
        sa.Column("gateway_refund_id", sa.String(length=255), nullable=True),
        sa.Column("refund_receipt", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column("received_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("applied_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payguard_payment.id"],
            name=op.f("fk_payguard_gateway_event_payment_id_payguard_payment"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_gateway_event")),
        sa.UniqueConstraint("gateway", "body_sha256", name="uq_payguard_gateway_event_body"),
    )
    op.create_index(
        "ix_payguard_gateway_event_deferred", "payguard_gateway_event", ["payment_id", "applied_at"], unique=False
    )
    op.create_table(
        "payguard_refund",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("merchant_id", GUID(length=16), nullable=False),
        sa.Column("payment_id", GUID(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "status",
            sa.Enum("pending", "processed", "failed", name="refundstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("gateway_refund_id", sa.String(length=255), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column("process_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("process_attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payguard_refund_refund_amount_positive")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["payguard_merchant.id"],
            name=op.f("fk_payguard_refund_merchant_id_payguard_merchant"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payguard_payment.id"],
            name=op.f("fk_payguard_refund_payment_id_payguard_payment"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_refund")),
    )
    op.create_index(
        "ix_payguard_refund_due",
        "payguard_refund",
        ["process_at"],
        unique=False,
        postgresql_where=sa.text("process_at IS NOT NULL"),
        sqlite_where=sa.text("process_at IS NOT NULL"),
    )
    op.create_index("ix_payguard_refund_payment", "payguard_refund", ["payment_id", "created_at"], unique=False)
    op.create_table(
        "payguard_session",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("merchant_id", GUID(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("payment_id", GUID(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "interrupted",
                "completed",
                "cancelled",
                "failed",
                "expired",
                name="sessionstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempt", sa.SmallInteger(), nullable=False),
        sa.Column("max_attempts", sa.SmallInteger(), nullable=False),
        sa.Column("attempt_started_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("attempt_deadline", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("interrupted_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column(
            "interrupt_kind",
            sa.Enum(
                "timeout", "network", "gateway", "unload", "user", name="interruptkind", native_enum=False, length=32
            ),
            nullable=True,
        ),
        sa.Column("interrupt_detail", sa.String(length=500), nullable=True),
        sa.Column("ended_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["payguard_merchant.id"],
            name=op.f("fk_payguard_session_merchant_id_payguard_merchant"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payguard_payment.id"],
            name=op.f("fk_payguard_session_payment_id_payguard_payment"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_session")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_payguard_session_payment_id")),
    )
    op.create_index("ix_payguard_session_open", "payguard_session", ["status", "expires_at"], unique=False)
    op.create_index("ix_payguard_session_owner", "payguard_session", ["merchant_id", "customer_id"], unique=False)
    op.create_table(
        "payguard_webhook_delivery",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("endpoint_id", GUID(length=16), nullable=False),
        sa.Column("event_id", GUID(length=16), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "delivered", "failed", "cancelled", name="deliverystatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("last_attempt_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("lease_until", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("manual_retry", sa.Boolean(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["payguard_webhook_endpoint.id"],
            name=op.f("fk_payguard_webhook_delivery_endpoint_id_payguard_webhook_endpoint"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["payguard_event.id"],
            name=op.f("fk_payguard_webhook_delivery_event_id_payguard_event"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_webhook_delivery")),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_payguard_webhook_delivery_endpoint_event"),
    )
    op.create_index(
        "ix_payguard_webhook_delivery_due", "payguard_webhook_delivery", ["status", "next_attempt_at"], unique=False
    )
    op.create_index(
        "ix_payguard_webhook_delivery_endpoint_time",
        "payguard_webhook_delivery",
        ["endpoint_id", "created_at"],
        unique=False,
    )
    op.create_index("ix_payguard_webhook_delivery_event", "payguard_webhook_delivery", ["event_id"], unique=False)
    op.create_table(
        "payguard_session_event",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("session_id", GUID(length=16), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "created",
                "interrupted",
                "resumed",
                "submitted",
                "completed",
                "cancelled",
                "failed",
                "expired",
                name="sessioneventtype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempt", sa.SmallInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "timeout", "network", "gateway", "unload", "user", name="interruptkind", native_enum=False, length=32
            ),
            nullable=True,
        ),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("occurred_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["payguard_session.id"],
            name=op.f("fk_payguard_session_event_session_id_payguard_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_session_event")),
    )
    op.create_index(
        op.f("ix_payguard_session_event_session_id"), "payguard_session_event", ["session_id"], unique=False
    )
    op.create_table(
        "payguard_webhook_attempt",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("delivery_id", GUID(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "trigger",
            sa.Enum("scheduled", "manual", name="attempttrigger", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("started_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_headers", JsonB, nullable=False),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column(
            "error_kind",
            sa.Enum(
                "timeout",
                "connection",
                "tls",
                "blocked_target",
                "redirect",
                "http_status",
                "signing_secret",
                name="attempterrorkind",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("error_detail", sa.String(length=500), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["payguard_webhook_delivery.id"],
            name=op.f("fk_payguard_webhook_attempt_delivery_id_payguard_webhook_delivery"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payguard_webhook_attempt")),
        sa.UniqueConstraint("delivery_id", "number", name="uq_payguard_webhook_attempt_number"),
    )


def downgrade() -> None:
    """Drop every payguard table (their rows go with them)."""
    op.drop_table("payguard_webhook_attempt")
    op.drop_table("payguard_session_event")
    op.drop_table("payguard_webhook_delivery")
    op.drop_table("payguard_session")
    op.drop_table("payguard_refund")
    op.drop_table("payguard_gateway_event")
    op.drop_table("payguard_webhook_endpoint")
    op.drop_table("payguard_payment")
    op.drop_table("payguard_event")
    op.drop_table("payguard_cleanup_run")
    op.drop_table("payguard_merchant")
    op.drop_table("payguard_job_control")
    op.drop_table("payguard_idempotency_key")
