"""The Litestar plugin(s)."""

from litestar_payguard.plugins.payguard import PayGuardPlugin

__all__ = ("PayGuardPlugin",)
