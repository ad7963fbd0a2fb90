"""Idempotency keys: claim, replay, complete, release, purge (IETF idempotency-key draft semantics).

The claim is committed on its own, before the handler runs, so concurrent requests see it. The stored
response is written into the request's own transaction, right before it commits: the handler's writes and
the record of its response commit together or not at all. Every write that depends on still owning a claim
is a compare-and-set on ``locked_at``, so a request that lost its claim (it outlived the lock timeout and
another request took the key over) can never commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from sqlalchemy import bindparam, delete, select, text, update

from litestar_payguard.exceptions import ConflictError, InvalidRequestError, PayGuardError
from litestar_payguard.models import IdempotencyKey, IdempotencyStatus

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy import Table
    from sqlalchemy.engine import CursorResult
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.principal import Principal

__all__ = (
    "IdempotencyKeyInUseError",
    "IdempotencyKeyInvalidError",
    "IdempotencyKeyRequiredError",
    "IdempotencyKeyReusedError",
    "IdempotencyService",
    "KeyClaim",
    "StoredResponse",
    "fingerprint",
    "key_scope",
    "parse_key",
)

KEY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
MAX_SCOPE_LENGTH = 512

_TABLE: Table = IdempotencyKey.__table__  # type: ignore[assignment]
_COLUMNS = _TABLE.c
_FIND = select(
    _COLUMNS.id,
    _COLUMNS.fingerprint,
    _COLUMNS.status,
    _COLUMNS.locked_at,
    _COLUMNS.expires_at,
    _COLUMNS.response_status,
    _COLUMNS.response_headers,
    _COLUMNS.response_body,
).where(_COLUMNS.scope == bindparam("scope"), _COLUMNS.key == bindparam("key"))
_OWNED = (
    (_COLUMNS.id == bindparam("record_id"))
    & (_COLUMNS.locked_at == bindparam("claimed_at"))
    & (_COLUMNS.status == IdempotencyStatus.IN_PROGRESS)
)
# Statements are built once, with bind parameters, so SQLAlchemy compiles each one once and reuses it.
_COMPLETE = (
    update(_TABLE)
    .where(_OWNED)
    .values(
        status=IdempotencyStatus.COMPLETED,
        response_status=bindparam("stored_status"),
        response_headers=bindparam("stored_headers", type_=_COLUMNS.response_headers.type),
        response_body=bindparam("stored_body", type_=_COLUMNS.response_body.type),
    )
)
_RELEASE = delete(_TABLE).where(_OWNED)
_TAKE_OVER = (
    update(_TABLE)
    .where(
        _COLUMNS.id == bindparam("record_id"),
        _COLUMNS.locked_at == bindparam("seen_locked_at"),
        _COLUMNS.status == bindparam("seen_status"),
    )
    .values(
        fingerprint=bindparam("new_fingerprint"),
        status=IdempotencyStatus.IN_PROGRESS,
        locked_at=bindparam("claimed_at"),
        expires_at=bindparam("new_expires_at"),
        response_status=None,
        response_headers=None,
        response_body=None,
    )
)
_CLAIM_COLUMNS = ("id", "scope", "key", "fingerprint", "status", "locked_at", "expires_at", "created_at", "updated_at")
# SQLAlchemy cannot cache its dialects' ON CONFLICT constructs (they would be compiled on every claim); the same
# SQL as text, with the columns' types on its parameters, is cached, and runs on Postgres and SQLite alike.
_CLAIM = (
    text(
        f"INSERT INTO {_TABLE.name} ({', '.join(_CLAIM_COLUMNS)}) "  # noqa: S608  # constant names only
        f"VALUES ({', '.join(':' + name for name in _CLAIM_COLUMNS)}) "
        "ON CONFLICT (scope, key) DO NOTHING RETURNING id"
    )
    .bindparams(*(bindparam(name, type_=_COLUMNS[name].type) for name in _CLAIM_COLUMNS))
    .columns(_COLUMNS.id)
)


class IdempotencyKeyInvalidError(PayGuardError):
    """The key is not 1 to 255 printable ASCII characters."""

    status_code = 400
    code = "IDEMPOTENCY_KEY_INVALID"
    title = "Invalid idempotency key"


class IdempotencyKeyRequiredError(PayGuardError):
    """This route needs an ``Idempotency-Key`` header."""

    status_code = 400
    code = "IDEMPOTENCY_KEY_REQUIRED"
    title = "Idempotency key required"


class IdempotencyKeyInUseError(ConflictError):
    """A request with the same key is still running."""

    code = "IDEMPOTENCY_KEY_IN_USE"
    title = "Idempotency key in use"


class IdempotencyKeyReusedError(InvalidRequestError):
    """The key was used with a different request."""

    code = "IDEMPOTENCY_KEY_REUSED"
    title = "Idempotency key reused"


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


def parse_key(raw: str | None, *, required: bool) -> str | None:
    """Validate an ``Idempotency-Key`` header value.

    Returns:
        The key, or ``None`` when there is none and none is required.

    Raises:
        IdempotencyKeyRequiredError: No key where one is required.
        IdempotencyKeyInvalidError: Empty, longer than 255 characters, or not printable ASCII.
    """
    if raw is None:
        if required:
            msg = f"Send an {KEY_HEADER} header with this request."
            raise IdempotencyKeyRequiredError(msg)
        return None
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in raw):
        msg = f"{KEY_HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
        raise IdempotencyKeyInvalidError(msg)
    return raw


def key_scope(principal: Principal, method: str, route: str) -> str:
    """The namespace of a key: the same key from two principals, methods or routes is two keys."""
    scope = f"{principal.merchant_id}|{principal.customer_id or ''}|{method.upper()}|{route}"
    if len(scope) > MAX_SCOPE_LENGTH:
        return "sha256:" + hashlib.sha256(scope.encode()).hexdigest()
    return scope


def fingerprint(body: bytes, path_params: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical body (JSON re-encoded with sorted keys, else the raw bytes) and path parameters."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # not JSON, or nested beyond what json handles: the raw bytes
        canonical = body
    digest = hashlib.sha256(canonical)
    digest.update(b"\0")
    digest.update(json.dumps(path_params, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class IdempotencyService:
    """Claims keys, replays stored responses, and stores new ones; never commits.

    Claims and releases run on a connection of their own (committed at once); :meth:`complete` runs in the
    request's session, so the stored response commits with the request's writes.
    """

    __slots__ = ("_config", "_db")

    def __init__(self, db: AsyncSession | AsyncConnection, config: PayGuardConfig) -> None:
        self._db = db
        self._config = config

    async def claim(self, scope: str, key: str, print_: str) -> KeyClaim | StoredResponse:
        """Claim the key for this request, or return the response a completed request stored.

        The caller commits the claim at once, in a transaction of its own.

        Raises:
            IdempotencyKeyReusedError: The key belongs to a request with another fingerprint.
            IdempotencyKeyInUseError: A request with the key is still running.
        """
        for _ in range(2):  # a second pass when the key was purged between our read and our takeover
            outcome = await self._claim_once(scope, key, print_)
            if outcome is not None:
                return outcome
        raise self._in_use()

    async def _claim_once(self, scope: str, key: str, print_: str) -> KeyClaim | StoredResponse | None:
        """One claim attempt; ``None`` when the row vanished under us (purged) and the caller should retry."""
        now = self._config.clock.now()
        params = {"scope": scope, "key": key}
        row = (await self._db.execute(_FIND, params)).first()
        if row is None:
            record_id = uuid4()
            claimed = await self._db.execute(
                _CLAIM,
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
            if claimed.first() is not None:
                return KeyClaim(record_id=record_id, claimed_at=now)
            row = (await self._db.execute(_FIND, params)).first()  # a concurrent request won the insert
            if row is None:  # and it was purged in between
                return None
        live = row.expires_at > now
        if live and row.fingerprint != print_:
            msg = f"{KEY_HEADER} {key!r} was already used with a different request."
            raise IdempotencyKeyReusedError(msg)
        if live and row.status is IdempotencyStatus.COMPLETED:
            return StoredResponse(
                status=row.response_status,
                headers=[(name, value) for name, value in row.response_headers or []],
                body=row.response_body or b"",
            )
        lock_timeout = timedelta(seconds=self._config.idempotency_lock_timeout_seconds)
        if live and row.locked_at + lock_timeout > now:
            raise self._in_use()
        # The claim is stale (its request died) or the key expired: take it over, unless someone else just did.
        taken: CursorResult[Any] = await self._db.execute(  # type: ignore[assignment]
            _TAKE_OVER,
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
            if (await self._db.execute(_FIND, params)).first() is None:
                return None  # purged meanwhile: the key is free again
            raise self._in_use()
        return KeyClaim(record_id=row.id, claimed_at=now)

    async def complete(self, claim: KeyClaim, response: StoredResponse) -> None:
        """Store the response under the claim, in the request's own transaction (before it commits).

        Raises:
            IdempotencyKeyInUseError: The claim was taken over meanwhile; the request must not commit.
        """
        stored: CursorResult[Any] = await self._db.execute(  # type: ignore[assignment]
            _COMPLETE,
            {
                "record_id": claim.record_id,
                "claimed_at": claim.claimed_at,
                "stored_status": response.status,
                "stored_headers": [list(header) for header in response.headers],
                "stored_body": response.body,
            },
        )
        if stored.rowcount != 1:
            msg = "Another request took over this idempotency key; this one was not applied."
            raise IdempotencyKeyInUseError(msg, headers={"Retry-After": "1"})

    async def release(self, claim: KeyClaim) -> None:
        """Give the key back (the request failed or was refused and changed nothing)."""
        await self._db.execute(_RELEASE, {"record_id": claim.record_id, "claimed_at": claim.claimed_at})

    async def purge_expired(self, *, batch_size: int) -> int:
        """Delete one batch of expired keys; return how many (fewer than ``batch_size`` means none are left)."""
        now = self._config.clock.now()
        due = (
            select(_COLUMNS.id)
            .where(_COLUMNS.expires_at <= now)
            .order_by(_COLUMNS.expires_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        ids: Sequence[UUID] = (await self._db.scalars(due)).all()
        if ids:
            await self._db.execute(delete(_TABLE).where(_COLUMNS.id.in_(ids)))
        return len(ids)

    @staticmethod
    def _in_use() -> IdempotencyKeyInUseError:
        msg = "A request with this idempotency key is still being processed. Retry shortly."
        return IdempotencyKeyInUseError(msg, headers={"Retry-After": "1"}, extra={"retryAfterSeconds": 1})
