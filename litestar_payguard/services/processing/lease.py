"""What a processing step holds: the lease it took on a payment, where it left it, and the lease's clock.

A worker's step takes a lease (``process_at`` moves to its end) and may change the row only while the lease is
still the one it took; past it, another worker may take the payment or refund up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from sqlalchemy import select

from litestar_payguard.models import CheckoutSession, Payment, PaymentMode, PaymentStatus

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = (
    "LEASE_MARGIN",
    "MAX_BACKOFF",
    "Lease",
    "PaymentLease",
    "Step",
    "backoff",
    "gateway_deadline",
    "lock_claimed",
)

MAX_BACKOFF = timedelta(minutes=15)


def backoff(first_seconds: float, failures: int) -> timedelta:
    """``first_seconds`` doubled for each failure after the first, capped at 15 minutes."""
    return min(timedelta(seconds=first_seconds * 2 ** max(failures - 1, 0)), MAX_BACKOFF)


LEASE_MARGIN = 0.2
"""Share of a lease kept free after a step's gateway calls, to record their outcome (or the retry) in time."""


def gateway_deadline(config: PayGuardConfig, lease_until: datetime) -> float:
    """When (event loop time) a step's gateway calls must have answered: well inside the worker's lease.

    Past the lease another worker may take the payment or refund up, and two workers would be at the gateway with
    it at once. A call still waiting then is one the gateway gave no answer to: the step is retried while the lease
    is still this worker's, and the retry asks the gateway where things stand before moving money.
    """
    margin = config.payment_lease_seconds * LEASE_MARGIN
    budget = max((lease_until - config.clock.now()).total_seconds() - margin, 0.0)
    return asyncio.get_running_loop().time() + budget


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
class Lease:
    """What every claim holds: the claimed row, the gateway its money went through, and the lease itself.

    Read under the lock, so no ORM object outlives its session. ``lease_until`` is the claim's: a later step
    changes the row only while its ``process_at`` is unchanged (:meth:`held_by`).
    """

    id: UUID
    mode: PaymentMode
    gateway: str
    """The name of the gateway, of ``mode``, that the payment was made with: every call about it goes there."""
    lease_until: datetime
    attempts: int
    """The claim's count of attempts, this one included."""

    def held_by(self, process_at: datetime | None) -> bool:
        """Whether a row due at ``process_at`` is still under this lease.

        Any other due time means another step moved it: news from the gateway made it due, or another worker
        claimed it after the lease ran out. Its answer is the newer one, so this step leaves the row alone.
        """
        return process_at == self.lease_until


@dataclass(frozen=True, slots=True)
class PaymentLease(Lease):
    """A payment a worker holds, with what the gateway calls need."""

    amount: int
    currency: str
    has_session: bool
    gateway_order_id: str | None
    gateway_payment_id: str | None
    method: str | None
    method_details: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_row(cls, row: Any) -> PaymentLease:
        """From the row :data:`~litestar_payguard.services.processing.fast_path_sql.CLAIM` returns."""
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
    def of(cls, payment: Payment, *, has_session: bool) -> PaymentLease:
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


async def lock_claimed(db: AsyncSession, claim: PaymentLease) -> tuple[Payment, CheckoutSession | None]:
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
