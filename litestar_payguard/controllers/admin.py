"""Admin monitoring and control, behind the host's guards."""

from __future__ import annotations

from typing import Annotated

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from litestar_payguard.openapi import problem_responses
from litestar_payguard.principal import Principal
from litestar_payguard.schemas import ActiveSession, Payment, PaymentStatus
from litestar_payguard.schemas.cleanup import CleanupRunView, CleanupStats, PendingStats
from litestar_payguard.schemas.merchant import AttentionResolution
from litestar_payguard.schemas.payments import payment_view
from litestar_payguard.services.payments import PaymentNotFoundError
from litestar_payguard.services.pending import CleanupService, CleanupTrigger, StaleCleanup
from litestar_payguard.services.processing import MerchantPaymentService, PaymentNotFlaggedError, ResolutionStatusError
from litestar_payguard.services.sessions import SessionService

__all__ = ("AdminCleanupController", "AdminPaymentController", "AdminPendingController", "AdminSessionController")


class AdminSessionController(Controller):
    """Sessions in progress across the merchant's customers."""

    path = "/sessions"
    tags = ["payguard: admin"]

    @get("/active", operation_id="payguardListActiveSessions")
    async def list_active_sessions(
        self,
        payguard_sessions: NamedDependency[SessionService],
        current_page: Annotated[int, QueryParameter(name="currentPage", ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, QueryParameter(name="pageSize", ge=1, le=100)] = 20,
    ) -> OffsetPagination[ActiveSession]:
        """Open sessions, oldest first: age, attempt, last interruption, customer."""
        return await payguard_sessions.list_active(limit=page_size, offset=(current_page - 1) * page_size)


class AdminCleanupController(Controller):
    """The stale-payment cleanup service: one per deployment, whatever the merchant."""

    path = "/cleanup"
    tags = ["payguard: admin"]

    @get("/stats", operation_id="payguardCleanupStats")
    async def stats(self, payguard_cleanup: NamedDependency[CleanupService]) -> CleanupStats:
        """Runs, payments expired, last run and error, the switch, health and the next scheduled run."""
        return await payguard_cleanup.stats()

    @post("/force", operation_id="payguardForceCleanup", status_code=200)
    async def force(self, payguard_stale_cleanup: NamedDependency[StaleCleanup]) -> CleanupRunView | None:
        """Run the cleanup now (even while stopped) and return the run."""
        return await payguard_stale_cleanup.run(CleanupTrigger.MANUAL)

    @post("/stop", operation_id="payguardStopCleanup", status_code=200)
    async def stop(self, payguard_cleanup: NamedDependency[CleanupService]) -> CleanupStats:
        """Stop scheduled runs on every worker until started again."""
        await payguard_cleanup.set_enabled(False)
        return await payguard_cleanup.stats()

    @post("/start", operation_id="payguardStartCleanup", status_code=200)
    async def start(self, payguard_cleanup: NamedDependency[CleanupService]) -> CleanupStats:
        """Let scheduled runs expire stale payments again."""
        await payguard_cleanup.set_enabled(True)
        return await payguard_cleanup.stats()


class AdminPendingController(Controller):
    """The merchant's open payments."""

    path = "/pending"
    tags = ["payguard: admin"]

    @get("/stats", operation_id="payguardPendingStats")
    async def stats(
        self, payguard_cleanup: NamedDependency[CleanupService], payguard_principal: NamedDependency[Principal]
    ) -> PendingStats:
        """Open, pending, processing and stale counts, and the ages of open payments in buckets."""
        return await payguard_cleanup.pending_stats(owner=payguard_principal)


class AdminPaymentController(Controller):
    """Payments that need a person: the fulfilment hook kept failing, so payguard stopped retrying."""

    path = "/payments"
    tags = ["payguard: admin"]

    @get("/attention", operation_id="payguardPaymentsNeedingAttention")
    async def attention(
        self,
        payguard_admin_payments: NamedDependency[MerchantPaymentService],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[Payment]:
        """The merchant's flagged payments (``processing``, never paid without their order), oldest first."""
        return [payment_view(p) for p in await payguard_admin_payments.needing_attention(limit=limit)]

    @post(
        "/{payment_id:str}/retry-fulfilment",
        operation_id="payguardRetryFulfilment",
        status_code=200,
        responses=problem_responses(PaymentNotFoundError, PaymentNotFlaggedError),
    )
    async def retry_fulfilment(
        self, payment_id: FromPath[str], payguard_admin_payments: NamedDependency[MerchantPaymentService]
    ) -> Payment:
        """Hand a flagged payment back to the workers once the cause is fixed."""
        return payment_view(await payguard_admin_payments.retry_fulfilment(payment_id))

    @post(
        "/{payment_id:str}/resolve",
        operation_id="payguardResolveAttention",
        status_code=200,
        responses=problem_responses(PaymentNotFoundError, PaymentNotFlaggedError, ResolutionStatusError),
    )
    async def resolve(
        self,
        payment_id: FromPath[str],
        payguard_admin_payments: NamedDependency[MerchantPaymentService],
        data: JSONBody[AttentionResolution | None] = None,
    ) -> Payment:
        """Clear the flag once a person dealt with the payment at the gateway (refunded it, fulfilled it by hand).

        A payment still ``processing`` needs ``{"status": "succeeded"}`` (fulfilled by hand; the hook does not run)
        or ``{"status": "failed"}`` (no money stays with the merchant); 422 ``RESOLUTION_STATUS_MISMATCH`` otherwise.
        """
        status = None if data is None or data.status is None else PaymentStatus(data.status)
        return payment_view(await payguard_admin_payments.resolve_attention(payment_id, status))
