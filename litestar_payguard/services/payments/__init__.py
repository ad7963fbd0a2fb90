"""Payments: creation under the one-open-payment guard, status transitions, the payment view in SQL."""

from litestar_payguard.services.payments.closing import due_for_closed_check
from litestar_payguard.services.payments.guard import OpenPayment, stale_window, triage
from litestar_payguard.services.payments.ownership import bound_owned, owned, owned_params, owner_filter
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
    "bound_owned",
    "due_for_closed_check",
    "owned",
    "owned_params",
    "owner_filter",
    "payload_sql",
    "stale_window",
    "triage",
)
