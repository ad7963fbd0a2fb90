"""The merchant API: payments and refunds, authenticated with ``X-Api-Key`` / ``X-Api-Secret``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from litestar_payguard.currencies import UnsupportedCurrencyError
from litestar_payguard.middleware import IDEMPOTENCY_OPT_KEY
from litestar_payguard.models import PaymentStatus
from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas import Payment
from litestar_payguard.schemas.merchant import PaymentCreate, PaymentPage, Refund, RefundCreate, RefundList, refund_view
from litestar_payguard.schemas.payments import payment_view
from litestar_payguard.services.gateway_modes import GatewayNotConfiguredError
from litestar_payguard.services.payments import AmountTooLargeError, PaymentNotFoundError, PendingSameBundleError
from litestar_payguard.services.processing import (
    InvalidCursorError,
    MerchantPaymentService,
    MethodNotSupportedError,
    PaymentFilter,
)
from litestar_payguard.services.refunds import (
    PaymentNotRefundableError,
    RefundExceedsAvailableError,
    RefundNotFoundError,
    RefundService,
)

__all__ = ("MerchantPaymentController", "MerchantRefundController")

_KEY_REQUIRED = {IDEMPOTENCY_OPT_KEY: "required"}


class MerchantPaymentController(Controller):
    """Payments the merchant's server starts; workers execute them."""

    path = "/v1/payments"
    tags = ["payguard: merchant API"]

    @post(
        "/",
        operation_id="payguardCreatePayment",
        status_code=201,
        opt=_KEY_REQUIRED,
        responses=problem_responses(
            PendingSameBundleError,
            GatewayNotConfiguredError,
            MethodNotSupportedError,
            AmountTooLargeError,
            UnsupportedCurrencyError,
        ),
    )
    async def create_payment(
        self, data: JSONBody[PaymentCreate], payguard_merchant_payments: NamedDependency[MerchantPaymentService]
    ) -> Payment:
        """Start a payment: 201 ``pending``; a worker moves it to ``processing``, then ``succeeded`` or ``failed``."""
        return payment_view(await payguard_merchant_payments.create(data))

    @get("/", operation_id="payguardListPayments", responses=problem_responses(InvalidCursorError))
    async def list_payments(
        self,
        *,
        payguard_merchant_payments: NamedDependency[MerchantPaymentService],
        status: Annotated[PaymentStatus | None, QueryParameter()] = None,
        customer_id: Annotated[
            str | None, QueryParameter(name="customerId", max_length=255, pattern=r"^[^\x00]*$")
        ] = None,
        created_from: Annotated[datetime | None, QueryParameter(name="createdFrom")] = None,
        created_to: Annotated[datetime | None, QueryParameter(name="createdTo")] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> PaymentPage:
        """The merchant's payments, newest first, filtered; ``nextCursor`` leads to the next page."""
        where = PaymentFilter(status=status, customer_id=customer_id, created_from=created_from, created_to=created_to)
        return await payguard_merchant_payments.list(where, limit=limit, cursor=cursor)

    @get("/{payment_id:str}", operation_id="payguardGetPayment", responses=problem_responses(PaymentNotFoundError))
    async def get_payment(
        self, payment_id: FromPath[str], payguard_merchant_payments: NamedDependency[MerchantPaymentService]
    ) -> Payment:
        """One payment."""
        return payment_view(await payguard_merchant_payments.get(payment_id))

    @post(
        "/{payment_id:str}/refunds",
        operation_id="payguardCreateRefund",
        status_code=201,
        opt=_KEY_REQUIRED,
        responses=problem_responses(
            PaymentNotFoundError, PaymentNotRefundableError, RefundExceedsAvailableError, GatewayNotConfiguredError
        ),
    )
    async def create_refund(
        self, payment_id: FromPath[str], data: JSONBody[RefundCreate], payguard_refunds: NamedDependency[RefundService]
    ) -> Refund:
        """Refund the payment, whole or in part: 201 ``pending``; a worker makes it ``processed`` or ``failed``."""
        return refund_view(await payguard_refunds.create(payment_id, data))

    @get(
        "/{payment_id:str}/refunds",
        operation_id="payguardListRefunds",
        responses=problem_responses(PaymentNotFoundError),
    )
    async def list_refunds(
        self, payment_id: FromPath[str], payguard_refunds: NamedDependency[RefundService]
    ) -> RefundList:
        """The payment's refunds, oldest first."""
        return RefundList(items=[refund_view(refund) for refund in await payguard_refunds.of_payment(payment_id)])


class MerchantRefundController(Controller):
    """Refunds, by id."""

    path = "/v1/refunds"
    tags = ["payguard: merchant API"]

    @get("/{refund_id:str}", operation_id="payguardGetRefund", responses=problem_responses(RefundNotFoundError))
    async def get_refund(self, refund_id: FromPath[str], payguard_refunds: NamedDependency[RefundService]) -> Refund:
        """One refund."""
        return refund_view(await payguard_refunds.get(refund_id))
