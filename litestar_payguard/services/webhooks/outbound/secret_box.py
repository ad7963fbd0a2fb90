"""Webhook signing secrets at rest: sealed with AES-GCM under ``webhook_secret_key`` when one is configured.

The key is base64 of 32 random bytes (``openssl rand -base64 32``), not a passphrase: the sealing key is derived
from it with HKDF-SHA256, which separates it from any other use of the same key but does not slow down guessing,
so a short password would fall to an offline search of a stolen database. Requiring 32 bytes lets the
configuration refuse a weak key at start-up instead.

A sealed value reads ``enc:v1:`` followed by URL-safe base64 (no padding) of the 12-byte nonce and the ciphertext
with its tag; the prefix tells a sealed value from a stored-as-is one, so adding a key later needs no migration
(secrets stored before it are read as they are, new ones are sealed). Without a key secrets are stored as they
are and :meth:`SecretBox.log_plaintext_warning` says so once at start-up. A sealed value cannot be read without
its key: unsealing without one, or with another, raises :class:`WebhookSecretUnreadableError`, which never holds
the secret or the key.
"""

from __future__ import annotations

import base64
import binascii
import logging

from litestar_payguard.exceptions import WebhookSecretUnreadableError
from litestar_payguard.services.sealing import NONCE_BYTES, TAG_BYTES, SealedValueError, Sealer

__all__ = ("SEALED_PREFIX", "SecretBox", "is_sealed")

SEALED_PREFIX = "enc:v1:"
"""How every sealed value starts (version 1: AES-256-GCM, HKDF-SHA256 key, 12-byte nonce)."""
_HKDF_INFO = b"litestar-payguard webhook signing secret v1"
_AAD = b"payguard:webhook-secret:v1:"

_logger = logging.getLogger("litestar_payguard")


def is_sealed(value: str) -> bool:
    """Whether a stored value is sealed (``enc:v1:…``) rather than stored as it is."""
    return value.startswith(SEALED_PREFIX)


class SecretBox:
    """Seals and unseals signing secrets with the configured key (or stores them as they are without one)."""

    __slots__ = ("_sealer", "_warned")

    def __init__(self, key: str | None) -> None:
        """Create the box.

        Args:
            key: ``PayGuardConfig.webhook_secret_key``: base64 of 32 bytes, or ``None`` to store secrets as they are.

        Raises:
            ValueError: The key is not base64 of 32 bytes (the configuration refuses it first).
        """
        self._sealer = Sealer(key, purpose=_HKDF_INFO, aad=_AAD)
        self._warned = False

    @property
    def sealing(self) -> bool:
        """Whether secrets are sealed (a key is configured)."""
        return self._sealer.sealing

    def seal(self, secret: str, *, context: str = "") -> str:
        """Return what to store for ``secret``: sealed with a key, the secret itself without one.

        Args:
            secret: The signing secret (``whsec_…``).
            context: What the value belongs to (an endpoint id, say): unsealing must give the same, so a sealed
                value copied onto another row does not open there.

        Raises:
            ValueError: ``secret`` is already sealed.
        """
        if is_sealed(secret):
            msg = "the value is already sealed"
            raise ValueError(msg)
        if not self._sealer.sealing:
            return secret
        sealed = self._sealer.seal(secret.encode(), context)
        return SEALED_PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def unseal(self, stored: str, *, context: str = "") -> str:
        """Return the secret from a stored value (one stored as it is is returned unchanged).

        Args:
            stored: The stored value.
            context: The context it was sealed with.

        Raises:
            WebhookSecretUnreadableError: The value is sealed and no key is configured, the key is another one, the
                context differs, or the value is damaged.
        """
        if not is_sealed(stored):
            return stored
        if not self._sealer.sealing:
            msg = "A webhook signing secret is sealed, and no webhook_secret_key is configured to open it."
            raise WebhookSecretUnreadableError(msg)
        text = stored.removeprefix(SEALED_PREFIX)
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            msg = "A sealed webhook signing secret is damaged (not a sealed value)."
            raise WebhookSecretUnreadableError(msg)
        try:
            secret = self._sealer.open(raw, context)
        except SealedValueError:
            msg = (
                "A sealed webhook signing secret does not open with the configured webhook_secret_key: it was "
                "sealed with another key (or for another endpoint), or it is damaged."
            )
            raise WebhookSecretUnreadableError(msg) from None
        return secret.decode()

    def log_plaintext_warning(self, logger: logging.Logger | None = None) -> bool:
        """At start-up: warn, the first time only, that secrets are stored as they are; ``True`` if it warned."""
        if self._sealer.sealing or self._warned:
            return False
        self._warned = True
        (logger or _logger).warning(
            "PayGuardConfig.webhook_secret_key is not set: webhook signing secrets, and the answers kept for "
            "idempotency replays, are stored in the database as they are. Set PAYGUARD_WEBHOOK_SECRET_KEY (base64 "
            "of 32 random bytes: openssl rand -base64 32) to encrypt new ones."
        )
        return True
