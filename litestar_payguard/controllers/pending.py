"""The customer's pending payments: see them, check before paying, clean up, cancel."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from litestar_payguard.exceptions import PaymentProcessingError
from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas import Payment
from litestar_payguard.schemas.pending import CanProceed, CanProceedRequest, CleanupResult, PendingList
from litestar_payguard.services.payments import PaymentNotFoundError
from litestar_payguard.services.pending import PaymentNotCancellableError, PendingPaymentService

__all__ = ("PendingController",)


class PendingController(Controller):
    """Never blocked by a stale payment, never without a way out."""

    path = "/"
    tags = ["payguard: pending payments"]

    @get("/pending", operation_id="payguardListPending")
    async def list_pending(self, payguard_pending: NamedDependency[PendingPaymentService]) -> PendingList:
        """Own open payments with age, time left before they stop blocking, and ways out."""
        return await payguard_pending.pending()

    @post("/can-proceed", operation_id="payguardCanProceed", status_code=200)
    async def can_proceed(
        self, data: JSONBody[CanProceedRequest], payguard_pending: NamedDependency[PendingPaymentService]
    ) -> CanProceed:
        """Would a payment for this bundle be accepted? Creates nothing."""
        return await payguard_pending.can_proceed(data.bundle_id, data.plan_name)

    @post("/pending/cleanup-stale", operation_id="payguardCleanupOwnStale", status_code=200)
    async def cleanup_stale(self, payguard_pending: NamedDependency[PendingPaymentService]) -> CleanupResult:
        """Expire own stale pending payments now."""
        return await payguard_pending.cleanup_stale()

    @post(
        "/payments/{payment_id:str}/cancel",
        operation_id="payguardCancelPayment",
        status_code=200,
        responses=problem_responses(PaymentNotFoundError, PaymentNotCancellableError, PaymentProcessingError),
    )
    async def cancel_payment(
        self, payment_id: FromPath[str], payguard_pending: NamedDependency[PendingPaymentService]
    ) -> Payment:
        """Cancel one own pending payment, and its checkout session."""
        return await payguard_pending.cancel_payment(payment_id)
