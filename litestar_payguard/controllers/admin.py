"""Admin monitoring, behind the host's guards."""

from __future__ import annotations

from typing import Annotated

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from litestar_payguard.schemas import ActiveSession
from litestar_payguard.services.sessions import SessionService

__all__ = ("AdminSessionController",)


class AdminSessionController(Controller):
    """Sessions in progress across the merchant's customers."""

    path = "/sessions"
    tags = ["payguard: admin"]

    @get("/active", operation_id="payguardListActiveSessions")
    async def list_active_sessions(
        self,
        payguard_sessions: NamedDependency[SessionService],
        current_page: Annotated[int, QueryParameter(name="currentPage", ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, QueryParameter(name="pageSize", ge=1, le=100)] = 20,
    ) -> OffsetPagination[ActiveSession]:
        """Open sessions, oldest first: age, attempt, last interruption, customer."""
        return await payguard_sessions.list_active(limit=page_size, offset=(current_page - 1) * page_size)
