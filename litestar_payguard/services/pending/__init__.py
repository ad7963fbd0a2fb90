"""A customer's open payments and the stale-payment cleanup that expires them."""

from litestar_payguard.models import CleanupTrigger
from litestar_payguard.services.pending.cleanup import CleanupService
from litestar_payguard.services.pending.cleanup_health import RUN_TIMEOUT_SECONDS
from litestar_payguard.services.pending.cleanup_run import StaleCleanup
from litestar_payguard.services.pending.service import PaymentNotCancellableError, PendingPaymentService

__all__ = (
    "RUN_TIMEOUT_SECONDS",
    "CleanupService",
    "CleanupTrigger",
    "PaymentNotCancellableError",
    "PendingPaymentService",
    "StaleCleanup",
)
