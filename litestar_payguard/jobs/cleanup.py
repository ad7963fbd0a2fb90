"""The scheduled cleanup of stale pending payments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar_payguard.services.pending import CleanupTrigger, StaleCleanup

if TYPE_CHECKING:
    from litestar_payguard.runtime import PayGuard

__all__ = ("expire_stale_payments",)


async def expire_stale_payments(ctx: dict[str, Any]) -> int:
    """Expire every pending payment past the stale window, as one recorded ``cron`` run.

    Skipped while an admin has stopped the cleanup. Safe to run on several workers at once.

    Returns:
        How many payments this run expired.
    """
    payguard: PayGuard = ctx["payguard"]
    run = await StaleCleanup(payguard.config, payguard.db_session).run(CleanupTrigger.CRON)
    return run.expired if run is not None else 0
