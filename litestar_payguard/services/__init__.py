"""Services: one per aggregate; all rules and transitions live here."""

from litestar_payguard.services.merchants import MerchantService
from litestar_payguard.services.payments import PaymentService
from litestar_payguard.services.sessions import SessionService

__all__ = ("MerchantService", "PaymentService", "SessionService")
