"""What every checkout session operation shares.

Loading a session for its owner, and storing a decision of :mod:`.rules` with its log entries, payment
transitions and outbox events.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from litestar_payguard.exceptions import NotFoundError
from litestar_payguard.models import CheckoutSession, SessionEvent, SessionEventType, SessionSnapshot, SessionStatus
from litestar_payguard.observability import count_interruption
from litestar_payguard.principal import Principal
from litestar_payguard.schemas.sessions import session_view
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.services.payments import PaymentService, bound_owned, owned_params
from litestar_payguard.services.sessions import rules

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.pricing import Pricer
    from litestar_payguard.schemas.sessions import Session
    from litestar_payguard.services.dispatch import Dispatcher

__all__ = ("OPEN_STATUSES", "SessionNotFoundError", "SessionStore")

OPEN_STATUSES = (SessionStatus.ACTIVE, SessionStatus.INTERRUPTED)

# Built once: a statement with bind parameters keeps its cache key, so polling pays no statement building.
_OWNED = select(CheckoutSession).where(bound_owned(CheckoutSession))
_OWNED_FOR_UPDATE = _OWNED.with_for_update().execution_options(populate_existing=True)


class SessionNotFoundError(NotFoundError):
    """No session with this id belongs to the caller."""

    code = "SESSION_NOT_FOUND"
    title = "Session not found"


class SessionStore:
    """Loading and storing sessions: the base of :class:`~litestar_payguard.services.sessions.service.SessionService`.

    It takes the same arguments as the service.
    """

    __slots__ = (
        "_base_url",
        "_config",
        "_db",
        "_dispatcher",
        "_outbox",
        "_owner",
        "_payments",
        "_pricer",
        "_stored",
        "policy",
    )

    def __init__(
        self,
        db: AsyncSession,
        config: PayGuardConfig,
        owner: Principal | None = None,
        dispatcher: Dispatcher | None = None,
        *,
        pricer: Pricer | None = None,
        base_url: str | None = None,
    ) -> None:
        self._db = db
        self._base_url = config.public_url or base_url or ""
        self._config = config
        self._owner = owner
        self._dispatcher = dispatcher
        self._pricer = pricer
        self._outbox = Outbox(db, config.clock)
        self._payments = PaymentService(db, config, self._outbox)
        self._stored = False
        self.policy = rules.SessionPolicy(
            attempt_timeout=timedelta(seconds=config.attempt_timeout_seconds),
            retry_delay=timedelta(seconds=config.retry_delay_seconds),
            expiry=timedelta(seconds=config.session_expiry_seconds),
            max_attempts=config.max_attempts,
        )

    def _now(self) -> datetime:
        return self._config.clock.now()

    def _acting(self, owner: Principal | None) -> Principal:
        return Principal.acting(owner, self._owner)

    def view(self, session: CheckoutSession | SessionSnapshot) -> Session:
        """Render a session as its customer sees it."""
        retry_at = rules.retry_at(session, session.max_attempts, self.policy.retry_delay)
        return session_view(session, poll_interval_ms=self._config.poll_interval_ms, retry_at=retry_at)

    async def _load(self, owner: Principal, session_id: str | UUID, *, lock: bool = False) -> CheckoutSession:
        session = None
        if (params := owned_params(owner, session_id)) is not None:
            session = await self._db.scalar(_OWNED_FOR_UPDATE if lock else _OWNED, params)
        if session is None:
            msg = f"No session {session_id}."
            raise SessionNotFoundError(msg)
        return session

    async def _reload_locked(self, session_id: UUID) -> CheckoutSession:
        statement = (
            select(CheckoutSession)
            .where(CheckoutSession.id == session_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self._db.scalars(statement)).one()

    async def _store(self, session: CheckoutSession, decision: rules.Decision) -> None:
        """Log and publish the decision's transitions, flush, then raise its error if it refused.

        Each outbox event shows the session as it stood right after its own transition. A refusal after
        stored transitions (an expiry noticed on the way, a session failed for lack of attempts) is marked to
        keep them: the error response commits what was learned.
        """
        written = self._now()
        for transition in decision.transitions:
            self._db.add(
                SessionEvent(
                    session_id=session.id,
                    session=session,
                    type=transition.event,
                    attempt=transition.attempt,
                    kind=transition.kind,
                    detail=transition.detail,
                    occurred_at=transition.at,
                    created_at=written,
                )
            )
            if transition.payment_status is not None:
                self._payments.transition(
                    session.payment,
                    transition.payment_status,
                    at=transition.at,
                    gateway_payment_id=transition.gateway_payment_id,
                    failure_code=transition.failure_code,
                    failure_message=transition.detail if transition.failure_code else None,
                )
            if transition.event is SessionEventType.INTERRUPTED and transition.kind is not None:
                count_interruption(self._db, transition.kind.value)
            self._outbox.record(
                merchant_id=session.merchant_id,
                type=f"session.{transition.event.value}",
                subject_id=session.id,
                payload=session_view(
                    session,
                    poll_interval_ms=self._config.poll_interval_ms,
                    retry_at=rules.retry_at(transition.state, session.max_attempts, self.policy.retry_delay),
                    state=transition.state,
                ),
                at=transition.at,
            )
        if decision.transitions:
            self._stored = True
            await self._db.flush()
        if decision.error is not None:
            decision.error.keep_changes = self._stored
            raise decision.error
