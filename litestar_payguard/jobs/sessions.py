"""Jobs about checkout sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar_payguard.jobs.batches import in_batches
from litestar_payguard.observability import count_cleanup_run
from litestar_payguard.services.sessions import SessionService

if TYPE_CHECKING:
    from litestar_payguard.runtime import PayGuard

__all__ = ("expire_sessions",)


async def expire_sessions(ctx: dict[str, Any]) -> int:
    """Expire every open session past its expiry and cancel its payment, one committed batch at a time.

    Safe to run on several workers at once: each batch skips rows another worker holds.

    Returns:
        How many sessions this run expired.
    """
    payguard: PayGuard = ctx["payguard"]
    size = payguard.config.session_cleanup_batch_size
    try:
        expired = await in_batches(
            payguard, size, lambda db: SessionService(db, payguard.config).expire_due(batch_size=size)
        )
    except BaseException:
        count_cleanup_run("sessions", "failed", 0)
        raise
    count_cleanup_run("sessions", "ok", expired)
    return expired
