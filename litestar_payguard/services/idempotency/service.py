"""Idempotency keys: claim, replay, complete, release, purge (IETF idempotency-key draft semantics).

The claim is committed on its own, before the handler runs, so concurrent requests see it. The stored
response is written into the request's own transaction, right before it commits: the handler's writes and
the record of its response commit together or not at all. Every write that depends on still owning a claim
is a compare-and-set on ``locked_at``, so a request that lost its claim (it outlived the lock timeout and
another request took the key over) can never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from sqlalchemy import delete, select

from litestar_payguard.models import IdempotencyStatus
from litestar_payguard.observability import idempotency_outcome
from litestar_payguard.services.idempotency.answers import IdempotencyReplayUnreadableError, open_answer, seal_answer
from litestar_payguard.services.idempotency.keys import KEY_HEADER, IdempotencyKeyInUseError, IdempotencyKeyReusedError
from litestar_payguard.services.idempotency.statements import CLAIM, COLUMNS, COMPLETE, FIND, RELEASE, TABLE, TAKE_OVER

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Row
    from sqlalchemy.engine import CursorResult
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("IdempotencyService", "KeyClaim", "StoredResponse")


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """This request owns the key: run it, then complete or release the claim."""

    record_id: UUID
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A completed request's response, replayed byte for byte."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class IdempotencyService:
    """Claims keys, replays stored responses, and stores new ones; never commits.

    Claims and releases run on a connection of their own (committed at once); :meth:`complete` runs in the
    request's session, so the stored response commits with the request's writes.
    """

    __slots__ = ("_config", "_db")

    def __init__(self, db: AsyncSession | AsyncConnection, config: PayGuardConfig) -> None:
        self._db = db
        self._config = config

    async def claim(self, scope: str, key: str, print_: str, *, count_in_use: bool = True) -> KeyClaim | StoredResponse:
        """Claim the key for this request, or return the response a completed request stored.

        The caller commits the claim at once, in a transaction of its own. ``count_in_use=False`` leaves a
        request still running out of the metrics (a caller that waits for it and asks again counts once).

        Raises:
            IdempotencyKeyReusedError: The key belongs to a request with another fingerprint.
            IdempotencyKeyInUseError: A request with the key is still running.
            IdempotencyReplayUnreadableError: The stored response does not open with the configured key.
        """
        try:
            outcome = await self._claim(scope, key, print_)
        except IdempotencyKeyReusedError:
            idempotency_outcome("key_reused")
            raise
        except IdempotencyKeyInUseError:
            if count_in_use:
                idempotency_outcome("in_progress")
            raise
        except IdempotencyReplayUnreadableError:
            idempotency_outcome("replay_unreadable")
            raise
        idempotency_outcome("replayed" if isinstance(outcome, StoredResponse) else "claimed")
        return outcome

    async def _claim(self, scope: str, key: str, print_: str) -> KeyClaim | StoredResponse:
        for _ in range(2):  # a second pass when the key was purged between our read and our takeover
            outcome = await self._claim_once(scope, key, print_)
            if outcome is not None:
                return outcome
        raise self._in_use()

    async def _claim_once(self, scope: str, key: str, print_: str) -> KeyClaim | StoredResponse | None:
        """One claim attempt; ``None`` when the row vanished under us (purged) and the caller should retry."""
        now = self._config.clock.now()
        params = {"scope": scope, "key": key}
        row = (await self._db.execute(FIND, params)).first()
        if row is None:
            claim = await self._insert(params, print_, now)
            if claim is not None:
                return claim
            row = (await self._db.execute(FIND, params)).first()  # a concurrent request won the insert
            if row is None:  # and it was purged in between
                return None
        return await self._claim_existing(row, params, print_, now)

    async def _insert(self, params: dict[str, str], print_: str, now: datetime) -> KeyClaim | None:
        """Claim a key no row holds yet; ``None`` when a concurrent request inserted it first."""
        record_id = uuid4()
        claimed = await self._db.execute(
            CLAIM,
            {
                "id": record_id,
                **params,
                "fingerprint": print_,
                "status": IdempotencyStatus.IN_PROGRESS,
                "locked_at": now,
                "expires_at": now + timedelta(seconds=self._config.idempotency_key_ttl_seconds),
                "created_at": now,
                "updated_at": now,
            },
        )
        return KeyClaim(record_id=record_id, claimed_at=now) if claimed.first() is not None else None

    async def _claim_existing(
        self, row: Row[Any], params: dict[str, str], print_: str, now: datetime
    ) -> KeyClaim | StoredResponse | None:
        """Replay, refuse, or take over the key's row; ``None`` when it was purged meanwhile."""
        live = row.expires_at > now
        if live and row.fingerprint != print_:
            msg = f"{KEY_HEADER} {params['key']!r} was already used with a different request."
            raise IdempotencyKeyReusedError(msg)
        if live and row.status is IdempotencyStatus.COMPLETED:
            return StoredResponse(
                status=row.response_status,
                headers=[(name, value) for name, value in row.response_headers or []],
                body=open_answer(self._config, row.id, row.response_body or b""),
            )
        lock_timeout = timedelta(seconds=self._config.idempotency_lock_timeout_seconds)
        if live and row.locked_at + lock_timeout > now:
            raise self._in_use()
        # The claim is stale (its request died) or the key expired: take it over, unless someone else just did.
        taken: CursorResult[Any] = await self._db.execute(  # type: ignore[assignment]
            TAKE_OVER,
            {
                "record_id": row.id,
                "seen_locked_at": row.locked_at,
                "seen_status": row.status,
                "new_fingerprint": print_,
                "claimed_at": now,
                "new_expires_at": now + timedelta(seconds=self._config.idempotency_key_ttl_seconds),
            },
        )
        if taken.rowcount != 1:
            if (await self._db.execute(FIND, params)).first() is None:
                return None  # purged meanwhile: the key is free again
            raise self._in_use()
        return KeyClaim(record_id=row.id, claimed_at=now)

    async def complete(self, claim: KeyClaim, response: StoredResponse) -> None:
        """Store the response under the claim, in the request's own transaction (before it commits).

        Its body is sealed when a key is configured (:mod:`.answers`).

        Raises:
            IdempotencyKeyInUseError: The claim was taken over meanwhile; the request must not commit.
        """
        stored: CursorResult[Any] = await self._db.execute(  # type: ignore[assignment]
            COMPLETE,
            {
                "record_id": claim.record_id,
                "claimed_at": claim.claimed_at,
                "stored_status": response.status,
                "stored_headers": [list(header) for header in response.headers],
                "stored_body": seal_answer(self._config, claim.record_id, response.body),
            },
        )
        if stored.rowcount != 1:
            msg = "Another request took over this idempotency key; this one was not applied."
            raise IdempotencyKeyInUseError(msg, headers={"Retry-After": "1"})

    async def release(self, claim: KeyClaim) -> None:
        """Give the key back (the request failed or was refused and changed nothing)."""
        await self._db.execute(RELEASE, {"record_id": claim.record_id, "claimed_at": claim.claimed_at})

    async def purge_expired(self, *, batch_size: int) -> int:
        """Delete one batch of expired keys; return how many (fewer than ``batch_size`` means none are left)."""
        now = self._config.clock.now()
        due = (
            select(COLUMNS.id)
            .where(COLUMNS.expires_at <= now)
            .order_by(COLUMNS.expires_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        ids: Sequence[UUID] = (await self._db.scalars(due)).all()
        if ids:
            await self._db.execute(delete(TABLE).where(COLUMNS.id.in_(ids)))
        return len(ids)

    @staticmethod
    def _in_use() -> IdempotencyKeyInUseError:
        msg = "A request with this idempotency key is still being processed. Retry shortly."
        return IdempotencyKeyInUseError(msg, headers={"Retry-After": "1"}, extra={"retryAfterSeconds": 1})
