"""Idempotency keys: claim, replay, complete, release, purge (IETF idempotency-key draft semantics)."""

from litestar_payguard.services.idempotency.answers import IdempotencyReplayUnreadableError
from litestar_payguard.services.idempotency.keys import (
    KEY_HEADER,
    MAX_KEY_LENGTH,
    IdempotencyKeyInUseError,
    IdempotencyKeyInvalidError,
    IdempotencyKeyRequiredError,
    IdempotencyKeyReusedError,
    fingerprint,
    form_scope,
    key_scope,
    parse_key,
)
from litestar_payguard.services.idempotency.service import IdempotencyService, KeyClaim, StoredResponse

__all__ = (
    "KEY_HEADER",
    "MAX_KEY_LENGTH",
    "IdempotencyKeyInUseError",
    "IdempotencyKeyInvalidError",
    "IdempotencyKeyRequiredError",
    "IdempotencyKeyReusedError",
    "IdempotencyReplayUnreadableError",
    "IdempotencyService",
    "KeyClaim",
    "StoredResponse",
    "fingerprint",
    "form_scope",
    "key_scope",
    "parse_key",
)
