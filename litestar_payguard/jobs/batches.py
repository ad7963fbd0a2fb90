"""The loop every batched job shares: one committed transaction per batch, until a batch comes back short."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.runtime import PayGuard

__all__ = ("in_batches",)


async def in_batches(payguard: PayGuard, batch_size: int, step: Callable[[AsyncSession], Awaitable[int]]) -> int:
    """Run ``step`` (which handles at most ``batch_size`` rows and returns how many) until none are left.

    Each batch commits on its own, so a worker dying mid-run keeps what it finished and loses nothing else.

    Returns:
        How many rows all batches handled.
    """
    total = 0
    while True:
        async with payguard.db_session() as db:
            handled = await step(db)
            await db.commit()
        total += handled
        if handled < batch_size:
            return total
