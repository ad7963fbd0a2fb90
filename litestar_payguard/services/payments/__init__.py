"""Payments: creation under the one-open-payment guard, status transitions, the payment view in SQL."""

from litestar_payguard.services.payments.closing import due_for_closed_check
from litestar_payguard.services.payments.guard import OpenPayment
from litestar_payguard.services.payments.service import (
    AmountTooLargeError,
    InvalidPaymentTransitionError,
    PaymentNotFoundError,
    PaymentService,
    PendingSameBundleError,
)
from litestar_payguard.services.payments.view_sql import payload_sql

__all__ = (
    "AmountTooLargeError",
    "InvalidPaymentTransitionError",
    "OpenPayment",
    "PaymentNotFoundError",
    "PaymentService",
    "PendingSameBundleError",
    "due_for_closed_check",
    "payload_sql",
)
