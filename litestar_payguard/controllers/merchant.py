"""The merchant API's own account, authenticated with ``X-Api-Key`` / ``X-Api-Secret``."""

from __future__ import annotations

from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import JSONBody

from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas.merchant import MerchantAccount, MerchantAccountUpdate, merchant_view
from litestar_payguard.services.merchants import AllowedOriginInvalidError, MerchantAccountService

__all__ = ("MerchantAccountController",)


class MerchantAccountController(Controller):
    """The merchant itself: its mode and the origins its checkout sessions may lead to."""

    path = "/v1/merchant"
    tags = ["payguard: merchant API"]

    @get("/", operation_id="payguardGetMerchant")
    async def get_merchant(self, payguard_merchant_account: NamedDependency[MerchantAccountService]) -> MerchantAccount:
        """The merchant the API keys belong to."""
        return merchant_view(await payguard_merchant_account.view())

    @patch("/", operation_id="payguardUpdateMerchant", responses=problem_responses(AllowedOriginInvalidError))
    async def update_merchant(
        self,
        data: JSONBody[MerchantAccountUpdate],
        payguard_merchant_account: NamedDependency[MerchantAccountService],
    ) -> MerchantAccount:
        """Replace ``allowedOrigins``: where sessions' ``successUrl`` and ``cancelUrl`` may lead.

        One that is not an origin answers 422 ``ALLOWED_ORIGIN_INVALID`` and nothing changes.
        """
        return merchant_view(await payguard_merchant_account.set_allowed_origins(data.allowed_origins))
