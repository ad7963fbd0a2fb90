"""The merchant API's checkout sessions, authenticated with ``X-Api-Key`` / ``X-Api-Secret``.

Its annotations are evaluated at import, as in :mod:`.sessions` (the response extends the ``Session`` schema,
a name advanced-alchemy also puts in the app's signature namespace).
"""

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from litestar_payguard.controllers.sessions import NO_STORE
from litestar_payguard.currencies import UnsupportedCurrencyError
from litestar_payguard.middleware import IDEMPOTENCY_OPT_KEY
from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas.pending import SessionOpened
from litestar_payguard.schemas.sessions import CheckoutSessionCreate
from litestar_payguard.services.gateway_modes import GatewayNotConfiguredError
from litestar_payguard.services.payments import AmountTooLargeError, PendingSameBundleError
from litestar_payguard.services.sessions import (
    BundleNotFoundError,
    PricingNotConfiguredError,
    ReturnUrlNotAllowedError,
    SessionService,
)

__all__ = ("MerchantSessionController",)


class MerchantSessionController(Controller):
    """Checkout sessions the merchant's server opens for its customers, to send them to the hosted page."""

    path = "/v1/checkout-sessions"
    tags = ["payguard: merchant API"]

    @post(
        "/",
        operation_id="payguardCreateCheckoutSession",
        status_code=201,
        cache_control=NO_STORE,
        opt={IDEMPOTENCY_OPT_KEY: "required"},
        responses=problem_responses(
            ReturnUrlNotAllowedError,
            PricingNotConfiguredError,
            BundleNotFoundError,
            PendingSameBundleError,
            GatewayNotConfiguredError,
            AmountTooLargeError,
            UnsupportedCurrencyError,
        ),
    )
    async def create_checkout_session(
        self,
        data: JSONBody[CheckoutSessionCreate],
        payguard_merchant_sessions: NamedDependency[SessionService],
    ) -> SessionOpened:
        """Open a session for ``customerId``: 201 with ``clientSecret`` and ``checkoutUrl``, the page to send it to.

        ``amount`` and ``currency`` (both or neither) are the price; without them the host's pricing hook prices
        ``bundleId``. ``successUrl`` and ``cancelUrl`` must be on the merchant's allowed origins (422
        ``RETURN_URL_NOT_ALLOWED``).
        """
        return await payguard_merchant_sessions.open_for_customer(data)
