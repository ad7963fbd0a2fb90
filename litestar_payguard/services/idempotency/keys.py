"""Idempotency keys themselves: a valid ``Idempotency-Key`` header, a key's scope and a request's fingerprint.

Also the errors a request meets over its key.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from litestar_payguard.exceptions import ConflictError, InvalidRequestError, PayGuardError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar_payguard.principal import Principal

__all__ = (
    "KEY_HEADER",
    "MAX_KEY_LENGTH",
    "MAX_SCOPE_LENGTH",
    "IdempotencyKeyInUseError",
    "IdempotencyKeyInvalidError",
    "IdempotencyKeyRequiredError",
    "IdempotencyKeyReusedError",
    "fingerprint",
    "form_scope",
    "key_scope",
    "parse_key",
)

KEY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
MAX_SCOPE_LENGTH = 512


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
    return _bounded(f"{principal.merchant_id}|{principal.customer_id or ''}|{method.upper()}|{route}")


def form_scope(method: str, route: str, print_: str) -> str:
    """The namespace of a dashboard form's key: the route and the form's values (its fingerprint).

    The same form posted again with other values is another submission, never a reused key.
    """
    return _bounded(f"dashboard|{method.upper()}|{route}|{print_}")


def _bounded(scope: str) -> str:
    """The scope, or its SHA-256 when it is longer than the column holds."""
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
