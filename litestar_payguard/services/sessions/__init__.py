"""Checkout sessions: opening one at the host's price, its state machine, its summary."""

from litestar_payguard.services.sessions.pricing import (
    BundleNotFoundError,
    PriceChangedError,
    PricingNotConfiguredError,
)
from litestar_payguard.services.sessions.service import SessionService
from litestar_payguard.services.sessions.store import SessionNotFoundError

__all__ = (
    "BundleNotFoundError",
    "PriceChangedError",
    "PricingNotConfiguredError",
    "SessionNotFoundError",
    "SessionService",
)
