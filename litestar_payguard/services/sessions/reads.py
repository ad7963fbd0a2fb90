"""Checkout sessions as their customers and admins read them: one session, its status, its summary, the open ones.

Reading a session stores what its clock says first: an attempt past its deadline is interrupted, a session past
its expiry expires, before it is reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from advanced_alchemy.service import OffsetPagination
from sqlalchemy import func, select

from litestar_payguard.models import CheckoutSession, Payment, SessionEvent, SessionSnapshot
from litestar_payguard.schemas.sessions import active_session
from litestar_payguard.services.payments import bound_owned, owned_params, owner_filter
from litestar_payguard.services.sessions import rules
from litestar_payguard.services.sessions.store import OPEN_STATUSES, SessionNotFoundError, SessionStore
from litestar_payguard.services.sessions.summary import build_summary

if TYPE_CHECKING:
    from litestar_payguard.principal import Principal
    from litestar_payguard.schemas.sessions import ActiveSession, Session, SessionSummary

__all__ = ("SessionReads",)

# Built once: a statement with bind parameters keeps its cache key, so polling pays no statement building.
_POLL = (
    select(*SessionSnapshot.columns())
    .select_from(CheckoutSession.__table__.join(Payment.__table__))
    .where(bound_owned(CheckoutSession))
)


class SessionReads(SessionStore):
    """Reads sessions: the base of :class:`~litestar_payguard.services.sessions.SessionService`.

    It takes the same arguments as the service.
    """

    __slots__ = ()

    async def get(self, session_id: str | UUID, *, owner: Principal | None = None) -> CheckoutSession:
        """Return the session as it stands now: a passed deadline or expiry is stored before it is reported."""
        owner = self._acting(owner)
        session = await self._load(owner, session_id)
        now = self._now()
        if rules.is_due(session, now):
            session = await self._load(owner, session_id, lock=True)
            await self._store(session, rules.observe(session, now))
        return session

    async def status(self, session_id: str | UUID, *, owner: Principal | None = None) -> Session:
        """Return the session as its customer polls it: one Core read while nothing is due.

        When the attempt deadline or the expiry has passed, the session goes through :meth:`get`, which stores
        the change under a row lock before it is reported.
        """
        acting = self._acting(owner)
        row = None
        if (params := owned_params(acting, session_id)) is not None:
            row = (await self._db.execute(_POLL, params)).first()
        if row is None:
            msg = f"No session {session_id}."
            raise SessionNotFoundError(msg)
        snapshot = SessionSnapshot.from_row(row)
        if rules.is_due(snapshot, self._now()):
            return self.view(await self.get(snapshot.id, owner=acting))
        return self.view(snapshot)

    async def summary(self, session_id: str | UUID, *, owner: Principal | None = None) -> SessionSummary:
        """Summarise the session from its event log."""
        session = await self.get(session_id, owner=owner)
        events = await self._db.scalars(select(SessionEvent).where(SessionEvent.session_id == session.id))
        return build_summary(session, events.all(), self._now())

    async def list_active(
        self, *, limit: int, offset: int, owner: Principal | None = None
    ) -> OffsetPagination[ActiveSession]:
        """Return a page of the owner's merchant's open, unexpired sessions, oldest first, as admins monitor them.

        Sessions whose attempt deadline passed are stored as interrupted first, as :meth:`get` does.
        """
        merchant_id = self._acting(owner).merchant_id
        now = self._now()
        where = (
            owner_filter(CheckoutSession, merchant_id),
            CheckoutSession.status.in_(OPEN_STATUSES),
            CheckoutSession.expires_at > now,
        )
        total = await self._db.scalar(select(func.count()).select_from(CheckoutSession).where(*where))
        page = await self._db.scalars(
            select(CheckoutSession)
            .where(*where)
            .order_by(CheckoutSession.created_at, CheckoutSession.id)
            .limit(limit)
            .offset(offset)
        )
        sessions = list(page.all())
        for index, session in enumerate(sessions):
            if rules.is_due(session, now):
                sessions[index] = locked = await self._reload_locked(session.id)
                await self._store(locked, rules.observe(locked, now))
        return OffsetPagination(
            items=[active_session(session, now=now) for session in sessions],
            limit=limit,
            offset=offset,
            total=total or 0,
        )
