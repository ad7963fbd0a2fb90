"""Jobs about checkout sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    batch_size = payguard.config.session_cleanup_batch_size
    total = 0
    while True:
        async with payguard.db_session() as db:
            expired = await SessionService(db, payguard.config).expire_due(batch_size=batch_size)
            await db.commit()
        total += expired
        if expired < batch_size:
            return total
