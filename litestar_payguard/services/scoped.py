"""The base of the services that act for one merchant inside a request's transaction (the merchant API's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.services.dispatch import Dispatcher

__all__ = ("MerchantScoped",)


class MerchantScoped:
    """A service of one merchant's rows, working in the caller's database session.

    Args:
        db: The database session to work in (flushed, never committed: payguard's boundary commits).
        config: payguard's configuration.
        merchant_id: The merchant the service acts for; it never sees another merchant's rows.
        dispatcher: Enqueues work for the workers after the commit; without one, the sweeps and the reconciler
            find it (the due rows are the promise).
    """

    __slots__ = ("_config", "_db", "_dispatcher", "_merchant_id")

    def __init__(
        self, db: AsyncSession, config: PayGuardConfig, merchant_id: UUID, dispatcher: Dispatcher | None = None
    ) -> None:
        self._db = db
        self._config = config
        self._merchant_id = merchant_id
        self._dispatcher = dispatcher
