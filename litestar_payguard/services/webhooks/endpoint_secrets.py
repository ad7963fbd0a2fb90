"""Endpoint signing secrets: how they are made, and how they are kept at rest.

``seal`` and ``unseal`` are the one place a secret crosses into or out of the database. For now they keep it as
it is; encryption with a configured key replaces them without touching their callers.
"""

from __future__ import annotations

import base64
import secrets

__all__ = ("SECRET_BYTES", "SECRET_PREFIX", "new_secret", "seal", "unseal")

SECRET_PREFIX = "whsec_"  # noqa: S105  # a prefix, not a secret
"""The Standard Webhooks prefix of a signing secret; the base64 after it is the HMAC key."""
SECRET_BYTES = 32
"""Random bytes of a signing secret (Standard Webhooks allows 24 to 64)."""


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and the base64 of :data:`SECRET_BYTES` random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def seal(secret: str) -> str:
    """The form a secret is stored in (today the secret itself; encrypted once a key is configured)."""
    return secret


def unseal(stored: str) -> str:
    """The secret of its stored form (the inverse of :func:`seal`)."""
    return stored
