"""The transaction boundary: commit, then respond.

advanced-alchemy's ``autocommit`` before-send handler commits while the response start is already on its way and
swallows a failed commit, so a client can receive a 2xx for data that was never stored. This layer holds the
whole response, commits the request's database session, and only then lets the response go. A failed commit
becomes a 503 problem-details response instead.

What is committed: every response below 400, and error responses whose service recorded a state change before
refusing (see ``PayGuardError.keep_changes``). Everything else is rolled back. A GET or HEAD that wrote nothing
through the ORM (no pending objects, no flush) is not committed at all: the host's before-send handler closes its
session, which ends the read-only transaction. Other methods always commit, so writes made with Core statements
are never skipped.

Under an ``Idempotency-Key`` (:class:`~litestar_payguard.middleware.idempotency.IdempotencyMiddleware`), the
response is stored into the same transaction right before the commit, and the key is released whenever the
transaction does not commit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from sqlalchemy import event
from sqlalchemy.orm import Session

from litestar_payguard.exceptions import PayGuardError
from litestar_payguard.problems import (
    KEEP_CHANGES_STATE_KEY,
    RETRY_AFTER_SECONDS,
    error_body,
    problem_messages,
    unavailable_body,
)
from litestar_payguard.runtime import payguard_of
from litestar_payguard.services.idempotency import IdempotencyService, KeyClaim, StoredResponse
from litestar_payguard.transactions import discard_after_commit, run_after_commit

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.runtime import PayGuard

__all__ = ("TransactionMiddleware",)

logger = logging.getLogger("litestar_payguard")

_START = "http.response.start"
_BODY = "http.response.body"
_FLUSHED = "payguard_flushed"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BOUNDARY = "payguard_boundary"
"""Scope state flag: a payguard transaction boundary already holds this request."""
STORED_HEADERS = frozenset(
    {b"content-type", b"content-language", b"content-encoding", b"location", b"retry-after", b"vary"}
)
"""Response headers kept with an idempotent response and replayed with it."""


def _mark_flushed(session: Session, _: object) -> None:
    session.info[_FLUSHED] = True


def _has_writes(session: AsyncSession) -> bool:
    return bool(session.new or session.dirty or session.deleted or session.info.get(_FLUSHED))


class TransactionMiddleware(ASGIMiddleware):
    """Commits (or rolls back) the request's session before any byte of the response is sent.

    payguard's routers use it (through :class:`IdempotencyMiddleware`); add it to the host's own routes that
    write through payguard's services. It finds payguard through the application, so it takes no arguments.
    """

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "payguard_no_transaction"

    def __init__(self) -> None:
        # Sessions remember that they flushed, so read-only requests skip the commit.
        if not event.contains(Session, "after_flush", _mark_flushed):
            event.listen(Session, "after_flush", _mark_flushed)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Run the route, holding its response until its transaction is committed or rolled back."""
        if self.is_inside_boundary(scope):
            await next_app(scope, receive, send)
            return
        await self.run_in_transaction(scope, receive, send, next_app, payguard=payguard_of(scope), claim=None)

    @staticmethod
    def is_inside_boundary(scope: Scope) -> bool:
        """Whether an outer payguard layer already holds this request; inner layers then pass through.

        One transaction per request: two stacked boundaries would commit the handler's writes and the stored
        response separately, and a crash between them could run the request twice.
        """
        return bool(scope.get("state", {}).get(_BOUNDARY))

    async def run_in_transaction(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        next_app: ASGIApp,
        *,
        payguard: PayGuard,
        claim: KeyClaim | None,
    ) -> None:
        """Run the route, then commit or roll back its transaction; ``claim`` is the idempotency key it owns."""
        scope.setdefault("state", {})[_BOUNDARY] = True
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
            for outgoing in await self._commit_or_roll_back(scope, held, payguard, claim):
                await send(outgoing)
            held.clear()

        try:
            await next_app(scope, receive, hold)
        except BaseException:
            await self._rollback(scope, payguard)
            await self._release(payguard, claim)
            raise

    async def _commit_or_roll_back(
        self, scope: Scope, held: list[Message], payguard: PayGuard, claim: KeyClaim | None
    ) -> list[Message]:
        """Commit or roll back the request's transaction as its held response requires.

        Returns:
            The messages to send: the held response, or a problem response when the commit failed.
        """
        key = payguard.sqlalchemy_config.session_scope_key
        session = cast("AsyncSession | None", get_aa_scope_state(scope, key))
        status = cast("dict[str, Any]", held[0])["status"]
        keep = status < 400 or bool(scope.get("state", {}).get(KEEP_CHANGES_STATE_KEY))
        if not keep:
            await self._rollback(scope, payguard)
            await self._release(payguard, claim)
            return held
        if claim is None and (session is None or (scope.get("method") in _SAFE_METHODS and not _has_writes(session))):
            return held
        if session is None:
            session = payguard.sqlalchemy_config.provide_session(scope["app"].state, scope)
        try:
            if claim is not None:
                await IdempotencyService(session, payguard.config).complete(claim, _stored(held))
            await session.commit()
        except PayGuardError as exc:  # the idempotency claim was taken over: this request must not apply
            await self._rollback(scope, payguard)
            return problem_messages(error_body(exc, prefix=payguard.config.path, instance=scope["path"]), exc.headers)
        except Exception:
            logger.exception("payguard: commit failed on %s %s; answering 503", scope.get("method"), scope["path"])
            await self._rollback(scope, payguard)
            await self._release(payguard, claim)
            body = unavailable_body(
                scope["path"],
                code="COMMIT_FAILED",
                detail="The change could not be confirmed as saved. Retry later (with the same Idempotency-Key: "
                "a change that was saved is replayed, one that was not is applied).",
            )
            return problem_messages(body, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        # Committed: now the workers may look for what it wrote (a failed enqueue is the reconciler's to repair).
        await run_after_commit(session)
        return held

    async def _rollback(self, scope: Scope, payguard: PayGuard) -> None:
        key = payguard.sqlalchemy_config.session_scope_key
        session = cast("AsyncSession | None", get_aa_scope_state(scope, key))
        if session is None:
            return
        discard_after_commit(session)
        try:
            await session.rollback()
        except Exception:  # the connection may be gone; closing the session releases it either way
            logger.warning("payguard: rollback failed on %s", scope["path"], exc_info=True)

    async def _release(self, payguard: PayGuard, claim: KeyClaim | None) -> None:
        """Give the idempotency key back: nothing this request did was committed."""
        if claim is None:
            return
        try:
            async with payguard.db_connection() as connection:
                await IdempotencyService(connection, payguard.config).release(claim)
        except Exception:  # the claim then expires after the lock timeout
            logger.warning("payguard: could not release an idempotency key", exc_info=True)


def _stored(held: list[Message]) -> StoredResponse:
    start = cast("dict[str, Any]", held[0])
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in start.get("headers", [])
        if name.lower() in STORED_HEADERS
    ]
    body = b"".join(cast("dict[str, Any]", message).get("body", b"") for message in held[1:])
    return StoredResponse(status=start["status"], headers=headers, body=body)
