"""What a payment processing step holds: the claim it took, and where it left the payment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from sqlalchemy import select

from litestar_payguard.models import CheckoutSession, Payment, PaymentMode, PaymentStatus

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("Claim", "Step", "lock_claimed")


@dataclass(frozen=True, slots=True)
class Step:
    """Where a processing step left the payment.

    Attributes:
        status: The payment's status afterwards (``None``: no such payment).
        next_at: When a worker should take it up again; ``None`` when nothing more is due.
    """

    status: PaymentStatus | None
    next_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A payment a worker holds, with what the gateway calls need.

    Read under the lock, so no ORM object outlives its session. ``lease_until`` is the claim's: a later step
    changes the payment only while it is unchanged.
    """

    id: UUID
    mode: PaymentMode
    gateway: str
    amount: int
    currency: str
    lease_until: datetime
    attempts: int
    has_session: bool
    gateway_order_id: str | None
    gateway_payment_id: str | None
    method: str | None
    method_details: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_row(cls, row: Any) -> Claim:
        """From the row :data:`~litestar_payguard.services.processing_sql.CLAIM` returns."""
        return cls(
            id=row["id"],
            mode=PaymentMode(row["mode"]),
            gateway=row["gateway"],
            amount=row["amount"],
            currency=row["currency"],
            lease_until=row["process_at"],
            attempts=row["process_attempts"],
            has_session=row["has_session"],
            gateway_order_id=row["gateway_order_id"],
            gateway_payment_id=row["gateway_payment_id"],
            method=row["method"],
            method_details={str(k): str(v) for k, v in msgspec.json.decode(row["method_details"] or "{}").items()},
        )

    @classmethod
    def of(cls, payment: Payment, *, has_session: bool) -> Claim:
        """From the payment the ORM path claimed, under its lock."""
        assert payment.process_at is not None
        return cls(
            id=payment.id,
            mode=payment.mode,
            gateway=payment.gateway,
            amount=payment.amount,
            currency=payment.currency,
            lease_until=payment.process_at,
            attempts=payment.process_attempts,
            has_session=has_session,
            gateway_order_id=payment.gateway_order_id,
            gateway_payment_id=payment.gateway_payment_id,
            method=payment.method,
            method_details={str(k): str(v) for k, v in payment.method_details.items()},
        )


async def lock_claimed(db: AsyncSession, claim: Claim) -> tuple[Payment, CheckoutSession | None]:
    """Lock the claimed payment (through its checkout session, when it has one: the order requests lock in)."""
    if claim.has_session:
        session = await db.scalar(
            select(CheckoutSession)
            .where(CheckoutSession.payment_id == claim.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert session is not None
        return session.payment, session
    payment = await db.scalar(
        select(Payment).where(Payment.id == claim.id).with_for_update().execution_options(populate_existing=True)
    )
    assert payment is not None
    return payment, None
