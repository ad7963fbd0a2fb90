"""Refunds: admitted under a lock on the payment, and the ledger that applies their outcomes."""

from litestar_payguard.services.refunds.ledger import (
    apply_deferred_refunds,
    apply_refund_event,
    apply_refund_outcome,
    drop_deferred_refunds,
)
from litestar_payguard.services.refunds.service import (
    PaymentNotRefundableError,
    RefundExceedsAvailableError,
    RefundNotFoundError,
    RefundService,
)

__all__ = (
    "PaymentNotRefundableError",
    "RefundExceedsAvailableError",
    "RefundNotFoundError",
    "RefundService",
    "apply_deferred_refunds",
    "apply_refund_event",
    "apply_refund_outcome",
    "drop_deferred_refunds",
)
