"""The transaction boundary of payguard's routes: commit, then respond.

advanced-alchemy's ``autocommit`` before-send handler commits while the response start is already on its
way and swallows a failed commit, so a client can receive a 2xx for data that was never stored. This layer
holds the whole response, commits the request's database session, and only then lets the response go. A
failed commit becomes a 503 problem-details response instead.

What is committed: every response below 400, and error responses whose service recorded a state change
before refusing (see ``PayGuardError.keep_changes``). Everything else is rolled back. A GET or HEAD that
wrote nothing through the ORM (no pending objects, no flush) is not committed at all: the host's
before-send handler closes its session, which ends the read-only transaction. Other methods always commit,
so writes made with Core statements are never skipped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

import msgspec
from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from sqlalchemy import event
from sqlalchemy.orm import Session

from litestar_payguard.problems import (
    KEEP_CHANGES_STATE_KEY,
    PROBLEM_MEDIA_TYPE,
    RETRY_AFTER_SECONDS,
    problem_body,
)

if TYPE_CHECKING:
    from litestar.types import (
        ASGIApp,
        HTTPResponseBodyEvent,
        HTTPResponseStartEvent,
        Message,
        Receive,
        Scope,
        Send,
    )
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("TransactionMiddleware",)

logger = logging.getLogger("litestar_payguard")

_START = "http.response.start"
_BODY = "http.response.body"
_FLUSHED = "payguard_flushed"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _mark_flushed(session: Session, _: object) -> None:
    session.info[_FLUSHED] = True


def _has_writes(session: AsyncSession) -> bool:
    return bool(session.new or session.dirty or session.deleted or session.info.get(_FLUSHED))


def _commit_failed_messages(path: str) -> tuple[Message, Message]:
    body = msgspec.json.encode(
        problem_body(
            status=503,
            code="COMMIT_FAILED",
            title="Service unavailable",
            detail="The change could not be saved; nothing was stored. Retry later.",
            instance=path,
        )
    )
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        ],
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    return start, end


class TransactionMiddleware(ASGIMiddleware):
    """Commits (or rolls back) the request's session before any byte of the response is sent.

    Args:
        session_scope_key: The advanced-alchemy config's ``session_scope_key``, under which the request's
            session is found in the connection scope.
    """

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "payguard_no_transaction"

    def __init__(self, session_scope_key: str) -> None:
        self.session_scope_key = session_scope_key
        # Sessions remember that they flushed, so read-only requests skip the commit.
        if not event.contains(Session, "after_flush", _mark_flushed):
            event.listen(Session, "after_flush", _mark_flushed)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Run the route, holding its response until the transaction is settled."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            if message["type"] == _START:
                held.append(message)
                return
            if message["type"] != _BODY or not held:
                await send(message)
                return
            held.append(message)
            if message.get("more_body", False):
                return
            for outgoing in await self._settle(scope, held):
                await send(outgoing)
            held.clear()

        try:
            await next_app(scope, receive, hold)
        except BaseException:
            await self._rollback(scope)
            raise

    async def _settle(self, scope: Scope, held: list[Message]) -> list[Message]:
        session = cast("AsyncSession | None", get_aa_scope_state(scope, self.session_scope_key))
        if session is None:
            return held
        status = cast("dict[str, Any]", held[0])["status"]
        keep = status < 400 or bool(scope.get("state", {}).get(KEEP_CHANGES_STATE_KEY))
        if not keep:
            await self._rollback(scope)
            return held
        if scope.get("method") in _SAFE_METHODS and not _has_writes(session):
            return held
        try:
            await session.commit()
        except Exception:
            logger.exception("payguard: commit failed on %s %s; answering 503", scope.get("method"), scope["path"])
            await self._rollback(scope)
            return list(_commit_failed_messages(scope["path"]))
        return held

    async def _rollback(self, scope: Scope) -> None:
        session = cast("AsyncSession | None", get_aa_scope_state(scope, self.session_scope_key))
        if session is None:
            return
        try:
            await session.rollback()
        except Exception:  # the connection may be gone; closing the session releases it either way
            logger.warning("payguard: rollback failed on %s", scope["path"], exc_info=True)
