"""Controllers: parse, call a service, return a schema."""

from litestar_payguard.controllers.admin import AdminSessionController
from litestar_payguard.controllers.pending import PendingController
from litestar_payguard.controllers.sessions import SessionController

__all__ = ("AdminSessionController", "PendingController", "SessionController")
