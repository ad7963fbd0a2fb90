"""Sealing values at rest with the configured key: AES-256-GCM under a key derived for one purpose.

The configured key (``webhook_secret_key``) is base64 of 32 random bytes; each purpose (webhook signing secrets,
stored idempotency answers) derives its own AES key from it with HKDF-SHA256, so a value sealed for one purpose
never opens as another's. Each sealed value also carries what it belongs to (its context, bound as associated
data): a value copied onto another row does not open there.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from litestar_payguard.config_checks import decode_secret_key

__all__ = ("NONCE_BYTES", "TAG_BYTES", "SealedValueError", "Sealer", "derived_secret", "sealer")

NONCE_BYTES = 12
TAG_BYTES = 16


class SealedValueError(Exception):
    """A sealed value does not open: no key, another key, another context, or damaged. Never holds the value."""


class Sealer:
    """Seals bytes for one purpose with the configured key, or does nothing without a key.

    Args:
        key: Base64 of 32 bytes (``PayGuardConfig.webhook_secret_key``), or ``None``.
        purpose: HKDF's ``info``: which use of the key this is.
        aad: What every sealed value's associated data starts with (its context follows).

    Raises:
        ValueError: The key is not base64 of 32 bytes (the configuration refuses it first).
    """

    __slots__ = ("_aad", "_aead")

    def __init__(self, key: str | None, *, purpose: bytes, aad: bytes) -> None:
        self._aad = aad
        self._aead = None if key is None else AESGCM(_derive(key, purpose))

    @property
    def sealing(self) -> bool:
        """Whether values are sealed (a key is configured)."""
        return self._aead is not None

    def seal(self, value: bytes, context: str) -> bytes:
        """The 12-byte nonce, then ``value`` encrypted with its tag.

        Raises:
            SealedValueError: No key is configured (check :attr:`sealing` first).
        """
        if self._aead is None:
            msg = "no key is configured"
            raise SealedValueError(msg)
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value, self._aad + context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        """The value :meth:`seal` sealed with the same key, purpose and context.

        Raises:
            SealedValueError: No key is configured, or the value does not open (see the class).
        """
        if self._aead is None:
            msg = "no key is configured"
            raise SealedValueError(msg)
        if len(sealed) < NONCE_BYTES + TAG_BYTES:
            msg = "not a sealed value"
            raise SealedValueError(msg)
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], self._aad + context.encode())
        except InvalidTag:
            msg = "sealed with another key or context, or damaged"
            raise SealedValueError(msg) from None


def _derive(key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(decode_secret_key(key))


def derived_secret(key: str, *, purpose: bytes) -> str:
    """A secret for another use, derived from the configured key (HKDF-SHA256): the same in every process.

    It reveals nothing of the key, and differs for each ``purpose``.
    """
    return base64.urlsafe_b64encode(_derive(key, purpose)).decode().rstrip("=")


@lru_cache(maxsize=8)
def sealer(key: str | None, *, purpose: bytes, aad: bytes) -> Sealer:
    """The :class:`Sealer` for this key and purpose, derived once per process."""
    return Sealer(key, purpose=purpose, aad=aad)
