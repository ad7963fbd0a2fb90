"""The stale-payment cleanup: a record of every run, and the switch every worker honours."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from litestar_payguard.models.base import TEXT_LENGTH, PayGuardModel, enum_column_type
from litestar_payguard.models.enums import CleanupTrigger

__all__ = ("CleanupRun", "JobControl")


class CleanupRun(PayGuardModel):
    """One run of the cleanup expiring stale pending payments.

    A run commits its count batch by batch, so a worker dying mid-run leaves a run with ``finished_at`` unset and
    an ``expired_count`` that is exactly what it committed.
    """

    __tablename__ = "payguard_cleanup_run"
    __table_args__ = (Index("ix_payguard_cleanup_run_started", "started_at"),)

    trigger: Mapped[CleanupTrigger] = mapped_column(enum_column_type(CleanupTrigger))
    merchant_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("payguard_merchant.id", ondelete="RESTRICT"), default=None
    )
    """Set for a customer's run (it only touches that merchant's customer); ``None`` for a deployment-wide run."""
    customer_id: Mapped[str | None] = mapped_column(String(255), default=None)
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    expired_count: Mapped[int] = mapped_column(Integer, default=0)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(TEXT_LENGTH), default=None)
    """Why the run stopped early (the committed batches stand)."""


class JobControl(PayGuardModel):
    """A persisted on/off switch for a scheduled job; every worker reads it before each batch."""

    __tablename__ = "payguard_job_control"

    job: Mapped[str] = mapped_column(String(64), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
