"""Transactions payguard opens itself, and the work that waits for one to commit.

Inside a request, payguard's transaction layer commits the request's session before the response leaves and then
runs what was registered with :func:`after_commit`; a worker's step opens its own session (a
:data:`DbSessionFactory`) and does the same after its commit. Work registered for a transaction that rolls back is
dropped, so a job is never enqueued for a row that was never stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "AFTER_COMMIT_TIMEOUT_SECONDS",
    "DbSessionFactory",
    "Work",
    "after_commit",
    "discard_after_commit",
    "run_after_commit",
)

logger = logging.getLogger("litestar_payguard")

_AFTER_COMMIT = "payguard_after_commit"

Work = Callable[[], Awaitable[object]]
"""Something to do once a transaction has committed (enqueue a job)."""

DbSessionFactory = Callable[[], AbstractAsyncContextManager["AsyncSession"]]
"""Opens a database session of its own (``PayGuard.db_session``): a worker's step commits its own transaction."""

AFTER_COMMIT_TIMEOUT_SECONDS = 2.0
"""How long the work after a commit (enqueueing a job) may take. A Redis that accepts connections but no longer
answers must not hold the response of a request whose data is committed: past this the job is left to the
reconciler, which finds the due row."""


def after_commit(db: AsyncSession, work: Work) -> None:
    """Run ``work`` once this session's transaction has committed (payguard's boundary and jobs call it)."""
    db.info.setdefault(_AFTER_COMMIT, []).append(work)


def discard_after_commit(db: AsyncSession) -> None:
    """Forget the work of a transaction that rolled back."""
    db.info.pop(_AFTER_COMMIT, None)


async def run_after_commit(db: AsyncSession) -> None:
    """Run the work registered for the transaction that just committed.

    A failure is logged, never raised: what was committed stands, and the reconciler picks up any due row
    whose job was not enqueued.
    """
    for work in db.info.pop(_AFTER_COMMIT, []):
        try:
            async with asyncio.timeout(AFTER_COMMIT_TIMEOUT_SECONDS):
                await work()
        except Exception:  # Redis down, gone or hanging: the due row stays, the reconciler enqueues it later
            logger.warning("payguard: could not enqueue work after commit; the reconciler will", exc_info=True)
