"""Controllers: parse, call a service, return a schema."""

from litestar_payguard.controllers.admin import AdminSessionController
from litestar_payguard.controllers.sessions import SessionController

__all__ = ("AdminSessionController", "SessionController")
