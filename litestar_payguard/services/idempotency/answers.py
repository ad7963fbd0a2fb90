"""Stored answers at rest: sealed with ``webhook_secret_key`` when one is configured.

An answer may hold a secret (a session's client secret, a webhook endpoint's signing secret), and it is kept for
``idempotency_key_ttl_seconds`` to be replayed. With a key, every stored body is sealed (AES-256-GCM under a key
derived for this purpose, bound to its key's record); without one bodies are stored as they are, like signing
secrets. A sealed body starts with :data:`SEALED_ANSWER_PREFIX`; a body stored as it is that happens to start with
a NUL byte (a host's binary answer) is stored behind :data:`PLAIN_ANSWER_PREFIX`, so it is never taken for a
sealed one. Bodies stored before this scheme (none starts with either prefix) replay as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar_payguard.exceptions import ConflictError
from litestar_payguard.services.sealing import SealedValueError, sealer

if TYPE_CHECKING:
    from uuid import UUID

    from litestar_payguard.config import PayGuardConfig

__all__ = (
    "PLAIN_ANSWER_PREFIX",
    "SEALED_ANSWER_PREFIX",
    "IdempotencyReplayUnreadableError",
    "open_answer",
    "seal_answer",
)

SEALED_ANSWER_PREFIX = b"\x00payguard:sealed:v1:"
"""How a sealed stored body starts (version 1: AES-256-GCM, HKDF-SHA256 key, 12-byte nonce)."""
PLAIN_ANSWER_PREFIX = b"\x00payguard:plain:"
"""What a body stored as it is gets in front when it starts with a NUL byte itself."""
_PURPOSE = b"litestar-payguard idempotency answer v1"
_AAD = b"payguard:idempotency-answer:v1:"


class IdempotencyReplayUnreadableError(ConflictError):
    """The key's request was applied, and its stored answer does not open with the configured key."""

    code = "IDEMPOTENCY_REPLAY_UNREADABLE"
    title = "Stored answer unreadable"


def seal_answer(config: PayGuardConfig, record_id: UUID, body: bytes) -> bytes:
    """What to store for an answer's body: sealed for its key's record with a key, the body itself without."""
    box = sealer(config.webhook_secret_key, purpose=_PURPOSE, aad=_AAD)
    if box.sealing:
        return SEALED_ANSWER_PREFIX + box.seal(body, str(record_id))
    return PLAIN_ANSWER_PREFIX + body if body.startswith(b"\x00") else body


def open_answer(config: PayGuardConfig, record_id: UUID, stored: bytes) -> bytes:
    """The body of a stored answer (one stored as it is is returned unchanged).

    Raises:
        IdempotencyReplayUnreadableError: It is sealed, and no key, or another one, is configured (or it is
            damaged). Nothing is applied again: the request that stored it was.
    """
    if stored.startswith(PLAIN_ANSWER_PREFIX):
        return stored.removeprefix(PLAIN_ANSWER_PREFIX)
    if not stored.startswith(SEALED_ANSWER_PREFIX):
        return stored
    try:
        return sealer(config.webhook_secret_key, purpose=_PURPOSE, aad=_AAD).open(
            stored.removeprefix(SEALED_ANSWER_PREFIX), str(record_id)
        )
    except SealedValueError:
        msg = (
            "A request with this idempotency key was applied, and its stored answer does not open with the "
            "configured webhook_secret_key (none is set, or it is another one). Read the resource instead."
        )
        raise IdempotencyReplayUnreadableError(msg) from None
