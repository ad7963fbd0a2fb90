"""Helpers for testing payguard and apps that use it: a manual clock and real-server discovery."""

from litestar_payguard.testing.clock import ManualClock

__all__ = ("ManualClock",)
