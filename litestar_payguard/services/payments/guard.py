"""Rules of the pending-payment guard, as pure functions: which open payments block, expire, or only warn."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from litestar_payguard.models import Payment, PaymentStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from litestar_payguard.config import PayGuardConfig

__all__ = ("OpenPayment", "Triage", "age_minutes", "is_stale", "minutes_left", "recommend", "stale_window", "triage")

COMPLETE_EXISTING = "complete_existing"
CANCEL_AND_RESTART = "cancel_and_restart"


@dataclass(frozen=True, slots=True)
class OpenPayment:
    """An open payment of a customer, and the checkout session it belongs to (if any)."""

    payment: Payment
    session_id: UUID | None


@dataclass(slots=True)
class Triage:
    """What a new payment for a bundle meets among the customer's open payments."""

    expire: list[OpenPayment] = field(default_factory=list)
    """Stale pending payments of the same bundle: expired in the same transaction, they block nothing."""
    conflicts: list[OpenPayment] = field(default_factory=list)
    """Open payments of the same bundle that still block it."""
    warnings: list[OpenPayment] = field(default_factory=list)
    """Open payments of other bundles: never blocking, only reported."""


def stale_window(config: PayGuardConfig) -> timedelta:
    """How old a pending payment is when it becomes stale: it stops blocking its bundle, and the cleanup expires it."""
    return timedelta(seconds=config.stale_pending_seconds)


def is_stale(payment: Payment, now: datetime, window: timedelta) -> bool:
    """A pending payment past the stale window. A ``processing`` one is never stale by age: the gateway has it."""
    return payment.status is PaymentStatus.PENDING and now - payment.created_at >= window


def age_minutes(payment: Payment, now: datetime) -> int:
    """Whole minutes since the payment was created."""
    return max(0, int((now - payment.created_at).total_seconds() // 60))


def minutes_left(payment: Payment, now: datetime, window: timedelta) -> int:
    """Minutes until a pending payment becomes stale (and stops blocking); 0 once it is."""
    return max(0, math.ceil((payment.created_at + window - now).total_seconds() / 60))


def triage(open_payments: Sequence[OpenPayment], bundle_id: str, now: datetime, window: timedelta) -> Triage:
    """Sort the customer's open payments for a new payment of ``bundle_id``."""
    result = Triage()
    for entry in open_payments:
        if entry.payment.bundle_id != bundle_id:
            result.warnings.append(entry)
        elif is_stale(entry.payment, now, window):
            result.expire.append(entry)
        else:
            result.conflicts.append(entry)
    return result


def recommend(conflict: Payment, plan_name: str | None) -> str:
    """``complete_existing`` for the same plan, ``cancel_and_restart`` when the customer changed plans."""
    return COMPLETE_EXISTING if plan_name is None or conflict.plan_name == plan_name else CANCEL_AND_RESTART
