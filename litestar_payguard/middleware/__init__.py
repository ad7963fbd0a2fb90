"""ASGI middleware: the transaction boundary and idempotency keys."""

from litestar_payguard.middleware.idempotency import IDEMPOTENCY_OPT_KEY, IdempotencyMiddleware
from litestar_payguard.middleware.transaction import TransactionMiddleware

__all__ = ("IDEMPOTENCY_OPT_KEY", "IdempotencyMiddleware", "TransactionMiddleware")
