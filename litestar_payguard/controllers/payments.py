"""The merchant API's payments, authenticated with ``X-Api-Key`` / ``X-Api-Secret``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from litestar_payguard.currencies import UnsupportedCurrencyError
from litestar_payguard.middleware import IDEMPOTENCY_OPT_KEY
from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas import Payment, PaymentStatus
from litestar_payguard.schemas.merchant import PaymentCreate, PaymentPage
from litestar_payguard.schemas.payments import payment_view
from litestar_payguard.services.gateway_modes import GatewayNotConfiguredError
from litestar_payguard.services.paging import InvalidCursorError
from litestar_payguard.services.payments import AmountTooLargeError, PaymentNotFoundError, PendingSameBundleError
from litestar_payguard.services.processing import (
    MerchantPaymentService,
    MethodNotSupportedError,
    PaymentFilter,
)

__all__ = ("MerchantPaymentController",)


class MerchantPaymentController(Controller):
    """Payments the merchant's server starts; workers execute them."""

    path = "/v1/payments"
    tags = ["payguard: merchant API"]

    @post(
        "/",
        operation_id="payguardCreatePayment",
        status_code=201,
        opt={IDEMPOTENCY_OPT_KEY: "required"},
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
