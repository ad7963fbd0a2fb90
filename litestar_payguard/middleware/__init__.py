"""ASGI middleware of payguard's routes."""

from litestar_payguard.middleware.transaction import TransactionMiddleware

__all__ = ("TransactionMiddleware",)
