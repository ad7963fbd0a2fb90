"""Helpers for testing payguard and apps that use it.

:class:`ManualClock` (a clock tests move by hand) is exported here. The heavier helpers live in their own
subpackages, imported only when asked for: :mod:`litestar_payguard.testing.razorpay` (a fake Razorpay,
in-process or ``python -m litestar_payguard.testing.razorpay``) and :mod:`litestar_payguard.testing.servers`
(find or start real Postgres and Redis servers).
"""

from litestar_payguard.testing.clock import ManualClock

__all__ = ("ManualClock",)
