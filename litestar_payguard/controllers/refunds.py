"""The merchant API's refunds, authenticated with ``X-Api-Key`` / ``X-Api-Secret``."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from litestar_payguard.middleware import IDEMPOTENCY_OPT_KEY
from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas.merchant import Refund, RefundCreate, RefundList, refund_view
from litestar_payguard.services.gateway_modes import GatewayNotConfiguredError
from litestar_payguard.services.payments import PaymentNotFoundError
from litestar_payguard.services.refunds import (
    PaymentNotRefundableError,
    RefundExceedsAvailableError,
    RefundNotFoundError,
    RefundService,
)

__all__ = ("MerchantRefundController", "PaymentRefundController")


class PaymentRefundController(Controller):
    """A payment's refunds: the merchant's server starts them; workers execute them."""

    path = "/v1/payments"
    tags = ["payguard: merchant API"]

    @post(
        "/{payment_id:str}/refunds",
        operation_id="payguardCreateRefund",
        status_code=201,
        opt={IDEMPOTENCY_OPT_KEY: "required"},
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
