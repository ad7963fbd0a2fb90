"""The workers' side: payments and refunds run through the gateway, one committed step at a time."""

from litestar_payguard.services.processing.fast_path import PaymentStatements
from litestar_payguard.services.processing.merchant_api import (
    MerchantPaymentService,
    MethodNotSupportedError,
    PaymentFilter,
    PaymentNotFlaggedError,
    ResolutionStatusError,
)
from litestar_payguard.services.processing.payments import PaymentProcessor
from litestar_payguard.services.processing.reconciler import Reconciler
from litestar_payguard.services.processing.refunds import RefundProcessor

__all__ = (
    "MerchantPaymentService",
    "MethodNotSupportedError",
    "PaymentFilter",
    "PaymentNotFlaggedError",
    "PaymentProcessor",
    "PaymentStatements",
    "Reconciler",
    "RefundProcessor",
    "ResolutionStatusError",
)
