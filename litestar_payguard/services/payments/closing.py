"""The one rule for a payment payguard closed unpaid: its gateway order is asked about once more."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from litestar_payguard.models import Payment

__all__ = ("due_for_closed_check",)


def due_for_closed_check(payment: Payment, now: datetime) -> bool:
    """Make a payment payguard closed unpaid due now, so a worker asks the gateway whether money was captured.

    The rule: a payment payguard closed without money (failed, cancelled or expired, or marked failed by a person)
    may have been paid at the gateway all the same: a closed tab, a lost webhook, a capture nobody reported. When it
    has a gateway order there is something to ask about, so it becomes due now (``process_at = now``) with a fresh
    count of attempts (``process_attempts`` then counts the questions about the closed payment). The worker
    (:class:`~litestar_payguard.services.processing.PaymentProcessor`) asks the gateway, and money it took anyway
    goes to a person rather than staying unseen. Without a gateway order no money can have moved: nothing changes.

    The caller has locked the payment and decided it is closed unpaid; the expiry statements of
    ``services.pending.expiry_sql`` apply the same rule in SQL.

    Returns:
        Whether the payment was made due.
    """
    if payment.gateway_order_id is None:
        return False
    payment.process_at = now
    payment.process_attempts = 0
    return True
