"""Read-only snapshots of a session and its payment, for the polling path.

Polling reads one joined row with Core instead of loading two ORM entities; these dataclasses carry the
columns the status view needs, under the ORM attribute names, so the view and the rules accept either.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from litestar_payguard.models.enums import InterruptKind, PaymentStatus, SessionStatus
from litestar_payguard.models.payment import Payment
from litestar_payguard.models.session import CheckoutSession

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import ColumnElement

__all__ = ("PaymentSnapshot", "SessionSnapshot", "SessionState")


@dataclass(frozen=True, slots=True)
class SessionState:
    """The columns of a session a transition changes, as they stood right after it.

    One request can make several transitions (a timeout, then an expiry); each outbox event shows the session
    as it was after its own transition, not after the last one.
    """

    status: SessionStatus
    attempt: int
    attempt_started_at: datetime
    attempt_deadline: datetime
    interrupted_at: datetime | None
    interrupt_kind: InterruptKind | None
    interrupt_detail: str | None
    ended_at: datetime | None

    @classmethod
    def of(cls, session: CheckoutSession) -> SessionState:
        """Capture the session's current state."""
        return cls(
            status=session.status,
            attempt=session.attempt,
            attempt_started_at=session.attempt_started_at,
            attempt_deadline=session.attempt_deadline,
            interrupted_at=session.interrupted_at,
            interrupt_kind=session.interrupt_kind,
            interrupt_detail=session.interrupt_detail,
            ended_at=session.ended_at,
        )


@dataclass(frozen=True, slots=True)
class PaymentSnapshot:
    """The payment columns a session's status shows."""

    id: UUID
    bundle_id: str
    plan_name: str | None
    amount: int
    currency: str
    status: PaymentStatus
    gateway_payment_id: str | None
    failure_code: str | None
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """The session columns its status shows, and its payment."""

    id: UUID
    status: SessionStatus
    attempt: int
    max_attempts: int
    attempt_started_at: datetime
    attempt_deadline: datetime
    expires_at: datetime
    interrupted_at: datetime | None
    interrupt_kind: InterruptKind | None
    interrupt_detail: str | None
    created_at: datetime
    ended_at: datetime | None
    success_url: str | None
    cancel_url: str | None
    payment: PaymentSnapshot

    @classmethod
    def columns(cls) -> list[ColumnElement[Any]]:
        """The columns to select, in the order :meth:`from_row` reads them."""
        session = [CheckoutSession.__mapper__.columns[f.name] for f in fields(cls) if f.name != "payment"]
        payment = [Payment.__mapper__.columns[f.name] for f in fields(PaymentSnapshot)]
        return [*session, *payment]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> SessionSnapshot:
        """Build a snapshot from a row of :meth:`columns`."""
        split = len(fields(cls)) - 1
        build: Any = cls  # the row's length is only known at run time
        return build(*row[:split], PaymentSnapshot(*row[split:]))  # type: ignore[no-any-return]
