"""The dashboard's operations pages: the overview (sessions, pending payments, the cleanup), payments, refunds.

Annotations are evaluated at import (no ``from __future__ import annotations``), as in the sessions controller:
Litestar resolves them in a namespace where advanced-alchemy's names would win.
"""

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from litestar_payguard.controllers.dashboard.forms import (
    PAGE_SIZE,
    Form,
    done,
    enum_or_none,
    next_url,
    page,
    principal_of,
    text_or_none,
)
from litestar_payguard.runtime import PayGuard
from litestar_payguard.schemas import PaymentStatus, RefundStatus
from litestar_payguard.schemas.payments import payment_view
from litestar_payguard.services.health import HealthService
from litestar_payguard.services.pending import CleanupService, CleanupTrigger, StaleCleanup
from litestar_payguard.services.processing import MerchantPaymentService, PaymentFilter
from litestar_payguard.services.refunds import RefundService
from litestar_payguard.services.sessions import SessionService

__all__ = ("DashboardOperationsController",)

Cursor = Annotated[str | None, QueryParameter(max_length=200)]


class DashboardOperationsController(Controller):
    """Overview, cleanup switches, payments needing attention, payments and refunds."""

    path = "/dashboard"
    include_in_schema = False

    @get("/")
    async def overview(  # one dependency per service the page shows
        self,
        *,
        request: Request[Any, Any, Any],
        payguard: NamedDependency[PayGuard],
        payguard_sessions: NamedDependency[SessionService],
        payguard_cleanup: NamedDependency[CleanupService],
        payguard_health: NamedDependency[HealthService],
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=10_000)] = 1,
    ) -> Response[str]:
        """The workers heard from, open sessions, open payments by age, and the cleanup's health with its switches."""
        sessions = await payguard_sessions.list_active(limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
        readiness = await payguard_health.readiness()
        return page(
            request,
            payguard,
            "overview.html",
            readiness=readiness,
            workers=await payguard_health.workers() if readiness.checks["queue"].status == "ok" else [],
            cleanup=await payguard_cleanup.stats(),
            pending=await payguard_cleanup.pending_stats(owner=principal_of(request)),
            sessions=sessions.items,
            more_sessions=sessions.total > page_number * PAGE_SIZE,
            page=page_number,
        )

    @post("/cleanup/force", status_code=303)
    async def force_cleanup(
        self, payguard: NamedDependency[PayGuard], payguard_stale_cleanup: NamedDependency[StaleCleanup]
    ) -> Redirect:
        """Run the stale-payment cleanup now."""
        run = await payguard_stale_cleanup.run(CleanupTrigger.MANUAL)
        notice = "A cleanup is already running." if run is None else f"Cleanup done: {run.expired} payments expired."
        return done(payguard, "/", notice)

    @post("/cleanup/stop", status_code=303)
    async def stop_cleanup(
        self, payguard: NamedDependency[PayGuard], payguard_cleanup: NamedDependency[CleanupService]
    ) -> Redirect:
        """Stop the scheduled cleanup (a forced run still runs)."""
        await payguard_cleanup.set_enabled(False)
        return done(payguard, "/", "The cleanup is stopped.")

    @post("/cleanup/start", status_code=303)
    async def start_cleanup(
        self, payguard: NamedDependency[PayGuard], payguard_cleanup: NamedDependency[CleanupService]
    ) -> Redirect:
        """Start the scheduled cleanup again."""
        await payguard_cleanup.set_enabled(True)
        return done(payguard, "/", "The cleanup is running.")

    @get("/attention")
    async def attention(
        self,
        request: Request[Any, Any, Any],
        payguard: NamedDependency[PayGuard],
        payguard_admin_payments: NamedDependency[MerchantPaymentService],
    ) -> Response[str]:
        """Payments a person must look at, with retry-fulfilment and resolve."""
        payments = [payment_view(p) for p in await payguard_admin_payments.needing_attention(limit=100)]
        return page(request, payguard, "attention.html", payments=payments)

    @post("/payments/{payment_id:str}/retry-fulfilment", status_code=303)
    async def retry_fulfilment(
        self,
        payment_id: FromPath[str],
        payguard: NamedDependency[PayGuard],
        payguard_admin_payments: NamedDependency[MerchantPaymentService],
    ) -> Redirect:
        """Ask the worker to confirm the payment and run the fulfilment hook again."""
        await payguard_admin_payments.retry_fulfilment(payment_id)
        return done(payguard, "/attention", f"Payment {payment_id}: fulfilment queued again.")

    @post("/payments/{payment_id:str}/resolve", status_code=303)
    async def resolve(
        self,
        payment_id: FromPath[str],
        data: Form,
        payguard: NamedDependency[PayGuard],
        payguard_admin_payments: NamedDependency[MerchantPaymentService],
    ) -> Redirect:
        """Mark the payment as resolved by a person, as it stands or with the status chosen."""
        status = enum_or_none(PaymentStatus, data.get("status"), "status")
        await payguard_admin_payments.resolve_attention(payment_id, status)
        return done(payguard, "/attention", f"Payment {payment_id} is resolved.")

    @get("/payments")
    async def payments(  # the list's filters are the query's parameters
        self,
        *,
        request: Request[Any, Any, Any],
        payguard: NamedDependency[PayGuard],
        payguard_admin_payments: NamedDependency[MerchantPaymentService],
        status: Annotated[str | None, QueryParameter(max_length=32)] = None,
        customer_id: Annotated[str | None, QueryParameter(name="customerId", max_length=255)] = None,
        cursor: Cursor = None,
    ) -> Response[str]:
        """Payments, newest first, by status and customer."""
        where = PaymentFilter(
            status=enum_or_none(PaymentStatus, status, "status"), customer_id=text_or_none(customer_id)
        )
        found = await payguard_admin_payments.list(where, limit=PAGE_SIZE, cursor=text_or_none(cursor))
        filters = {"status": status or "", "customerId": customer_id or ""}
        return page(
            request,
            payguard,
            "payments.html",
            page=found,
            payments=found.items,
            actions=False,
            statuses=[s.value for s in PaymentStatus],
            filters=filters,
            next_url=next_url(f"{request.url.path}", filters),
        )

    @get("/refunds")
    async def refunds(
        self,
        request: Request[Any, Any, Any],
        payguard: NamedDependency[PayGuard],
        payguard_admin_refunds: NamedDependency[RefundService],
        status: Annotated[str | None, QueryParameter(max_length=32)] = None,
        cursor: Cursor = None,
    ) -> Response[str]:
        """Refunds, newest first, by status."""
        found = await payguard_admin_refunds.list(
            status=enum_or_none(RefundStatus, status, "status"), limit=PAGE_SIZE, cursor=text_or_none(cursor)
        )
        filters = {"status": status or ""}
        return page(
            request,
            payguard,
            "refunds.html",
            page=found,
            statuses=[s.value for s in RefundStatus],
            filters=filters,
            next_url=next_url(request.url.path, filters),
        )
