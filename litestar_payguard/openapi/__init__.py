"""The OpenAPI document as a contract: payguard's schemas with the constraints its routes enforce."""

from litestar_payguard.openapi.schemas import PayGuardSchemaPlugin

__all__ = ("PayGuardSchemaPlugin",)
