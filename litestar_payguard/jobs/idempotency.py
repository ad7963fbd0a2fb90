"""Jobs about idempotency keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar_payguard.jobs.batches import in_batches
from litestar_payguard.services.idempotency import IdempotencyService

if TYPE_CHECKING:
    from litestar_payguard.runtime import PayGuard

__all__ = ("purge_idempotency_keys",)


async def purge_idempotency_keys(ctx: dict[str, Any]) -> int:
    """Delete every expired idempotency key, one committed batch at a time.

    Returns:
        How many keys this run deleted.
    """
    payguard: PayGuard = ctx["payguard"]
    size = payguard.config.idempotency_purge_batch_size
    return await in_batches(
        payguard, size, lambda db: IdempotencyService(db, payguard.config).purge_expired(batch_size=size)
    )
