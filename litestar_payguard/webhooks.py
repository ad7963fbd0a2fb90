"""Standard Webhooks (1.0.0) signatures: how payguard signs its deliveries and how a merchant's backend checks them.

A public module: a merchant's Python backend calls :func:`verify` on each delivery it receives, with the raw
body, the request headers and the endpoint's signing secret (``whsec_…``), and gets the parsed event back or a
:class:`WebhookVerificationError`. Payguard's delivery side uses :func:`generate_secret`, :func:`sign` and
:func:`signature_header`.

The scheme: ``webhook-signature`` carries space-separated ``v1,<base64 HMAC-SHA256>`` entries, one per valid
secret of the endpoint (two during a rotation), computed over ``f"{webhook-id}.{webhook-timestamp}."`` followed by
the exact body bytes. A secret is ``whsec_`` + base64 of 24 to 64 random bytes.

The module needs only the standard library and msgspec; it imports nothing else of payguard.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from secrets import token_bytes
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("SECRET_PREFIX", "generate_secret", "secret_key", "sign", "signature_header")

SECRET_PREFIX = "whsec_"  # noqa: S105 - a public marker, not a secret
"""How a Standard Webhooks symmetric secret is marked, so it is not mistaken for another kind of key."""
MIN_SECRET_BYTES = 24
"""The specification's floor for a signing secret (192 bits)."""
MAX_SECRET_BYTES = 64
"""The specification's ceiling (512 bits): HMAC-SHA256 hashes a longer key down anyway."""
SIGNATURE_VERSION = "v1"
"""The identifier of the HMAC-SHA256 scheme in ``webhook-signature``; other identifiers are other schemes."""


def generate_secret(nbytes: int = 32) -> str:
    """A new signing secret: ``whsec_`` + base64 of ``nbytes`` random bytes from :mod:`secrets`.

    Args:
        nbytes: How many random bytes, 24 to 64 (the specification's bounds).

    Raises:
        ValueError: ``nbytes`` is outside 24 to 64.
        TypeError: ``nbytes`` is not an int.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int):
        msg = f"nbytes must be an int, not {type(nbytes).__name__}"
        raise TypeError(msg)
    if not MIN_SECRET_BYTES <= nbytes <= MAX_SECRET_BYTES:
        msg = f"a webhook secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random bytes, not {nbytes}"
        raise ValueError(msg)
    return SECRET_PREFIX + base64.b64encode(token_bytes(nbytes)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a secret stands for: ``whsec_…`` or bare base64 (padding optional), 24 to 64 bytes.

    Raises:
        ValueError: The secret is empty, not base64, or decodes to a key outside 24 to 64 bytes. The message never
            contains the secret.
        TypeError: The secret is not a ``str``.
    """
    if not isinstance(secret, str):
        msg = f"a webhook secret is a str, not {type(secret).__name__}"
        raise TypeError(msg)
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    if not encoded:
        msg = "the webhook secret is empty"
        raise ValueError(msg)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        msg = "the webhook secret is not base64 after its optional whsec_ prefix"
        raise ValueError(msg) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        msg = f"a webhook secret decodes to {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, this one to {len(key)}"
        raise ValueError(msg)
    return key


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    """HMAC-SHA256 of ``{id}.{timestamp}.{body}``: the id and the attempt time are signed with the body."""
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def _check_signed_fields(msg_id: str, timestamp: int, body: bytes) -> None:
    # A dot in the id would let one (id, timestamp) pair be read as another: the specification forbids it.
    if not msg_id or "." in msg_id or any(character.isspace() for character in msg_id):
        msg = "a webhook id is non-empty, without dots or spaces"
        raise ValueError(msg)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        msg = "a webhook timestamp is a non-negative int of unix seconds"
        raise ValueError(msg)
    if not isinstance(body, bytes):
        msg = f"the body is signed as the exact bytes sent, not a {type(body).__name__}"
        raise TypeError(msg)


def sign(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """One ``webhook-signature`` entry: ``v1,`` + base64 of the HMAC-SHA256 of ``{msg_id}.{timestamp}.{body}``.

    Args:
        msg_id: The ``webhook-id`` header: the event's id, the same on every retry.
        timestamp: The ``webhook-timestamp`` header: the attempt's unix seconds.
        body: The exact bytes sent as the request body.
        secret: The endpoint's secret (``whsec_…`` or bare base64).
    """
    _check_signed_fields(msg_id, timestamp, body)
    digest = _digest(secret_key(secret), msg_id, timestamp, body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> str:
    """The ``webhook-signature`` header: one :func:`sign` entry per secret, space-separated (rotation sends two).

    Raises:
        ValueError: No secret given.
        TypeError: ``secrets`` is a single ``str`` (a sequence of characters, which is always a mistake here).
    """
    if isinstance(secrets, str):
        msg = "secrets is a sequence of secrets; wrap a single one in a list"
        raise TypeError(msg)
    if not secrets:
        msg = "a delivery is signed with at least one secret"
        raise ValueError(msg)
    return " ".join(sign(msg_id, timestamp, body, secret) for secret in secrets)
