"""Checkout sessions: opening one at the host's price, its state machine, its summary."""

from litestar_payguard.services.sessions.client_secret import CLIENT_SECRET_HEADER, CLIENT_SECRET_OPT, session_principal
from litestar_payguard.services.sessions.page import CheckoutPage, CheckoutPageService
from litestar_payguard.services.sessions.pricing import (
    BundleNotFoundError,
    PriceChangedError,
    PricingNotConfiguredError,
)
from litestar_payguard.services.sessions.return_urls import ReturnUrlNotAllowedError
from litestar_payguard.services.sessions.service import SessionService
from litestar_payguard.services.sessions.store import SessionNotFoundError

__all__ = (
    "CLIENT_SECRET_HEADER",
    "CLIENT_SECRET_OPT",
    "BundleNotFoundError",
    "CheckoutPage",
    "CheckoutPageService",
    "PriceChangedError",
    "PricingNotConfiguredError",
    "ReturnUrlNotAllowedError",
    "SessionNotFoundError",
    "SessionService",
    "session_principal",
)
