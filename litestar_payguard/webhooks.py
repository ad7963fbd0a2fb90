"""Standard Webhooks (1.0.0) signatures: how payguard signs its deliveries and how a merchant's backend checks them.

A public module: a merchant's Python backend calls :func:`verify` on each delivery it receives, with the raw
body, the request headers and the endpoint's signing secret (``whsec_…``), and gets the parsed event back or a
:class:`WebhookVerificationError`. Payguard's delivery side uses :func:`generate_secret`, :func:`sign` and
:func:`signature_header`.

The scheme: ``webhook-signature`` carries space-separated ``v1,<base64 HMAC-SHA256>`` entries, one per valid
secret of the endpoint (two during a rotation), computed over ``f"{webhook-id}.{webhook-timestamp}."`` followed by
the exact body bytes. A secret is ``whsec_`` + base64 of 24 to 64 random bytes.

The module itself imports only the standard library and msgspec, nothing else of payguard.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from datetime import datetime  # at run time: msgspec resolves the Structs' annotations
from secrets import token_bytes
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = (
    "SECRET_PREFIX",
    "WebhookEvent",
    "WebhookVerificationError",
    "generate_secret",
    "secret_key",
    "sign",
    "signature_header",
    "verify",
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - a public marker, not a secret
"""How a Standard Webhooks symmetric secret is marked, so it is not mistaken for another kind of key."""
MIN_SECRET_BYTES = 24
"""The specification's floor for a signing secret (192 bits)."""
MAX_SECRET_BYTES = 64
"""The specification's ceiling (512 bits): HMAC-SHA256 hashes a longer key down anyway."""
SIGNATURE_VERSION = "v1"
"""The identifier of the HMAC-SHA256 scheme in ``webhook-signature``; other identifiers are other schemes."""
DEFAULT_TOLERANCE = 300
"""Seconds a ``webhook-timestamp`` may lie before or after the receiver's clock: the reference libraries' 5 minutes."""
ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class WebhookVerificationError(ValueError):
    """A delivery is not authentic, is stale or is malformed: answer it with a 4xx and do not act on it.

    The message says which check failed; it never contains a secret or a signature.
    """


class WebhookEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A verified delivery: its ``webhook-id`` and the parsed body."""

    id: str
    """The ``webhook-id`` header: the event's id, the same on every retry and for every endpoint (the dedupe key)."""
    type: str
    """The event type, e.g. ``payment.succeeded``."""
    timestamp: datetime
    """When the event happened (the body's ``timestamp``), not when this attempt was sent."""
    data: dict[str, Any]
    """The event's payload."""
    raw: bytes
    """The verified body, byte for byte, for a receiver that stores or forwards it."""


class _Payload(msgspec.Struct):
    type: str
    timestamp: Annotated[datetime, msgspec.Meta(tz=True)]
    data: dict[str, Any]


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
    if not msg_id or "." in msg_id or " " in msg_id or not (msg_id.isascii() and msg_id.isprintable()):
        msg = "a webhook id is non-empty printable ASCII (it is a header value), without dots or spaces"
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


def _headers(headers: Mapping[str, str]) -> tuple[str, int, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``, found whatever the case of their names."""
    found: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER) and found.setdefault(lowered, value) != value:
            msg = f"the {lowered} header is given twice with different values"
            raise WebhookVerificationError(msg)
    missing = [name for name in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER) if not found.get(name, "").strip()]
    if missing:
        msg = f"missing webhook headers: {', '.join(missing)}"
        raise WebhookVerificationError(msg)
    timestamp = found[TIMESTAMP_HEADER].strip()
    if not _UNIX_SECONDS.fullmatch(timestamp):
        msg = "the webhook-timestamp header is not an integer of unix seconds"
        raise WebhookVerificationError(msg)
    msg_id = found[ID_HEADER].strip()
    try:
        msg_id.encode()
    except UnicodeEncodeError:
        msg = "the webhook-id header is not text"
        raise WebhookVerificationError(msg) from None
    return msg_id, int(timestamp), found[SIGNATURE_HEADER]


def _check_time(timestamp: int, tolerance: int, now: Callable[[], float]) -> None:
    age = now() - timestamp
    if age > tolerance:
        msg = f"the webhook-timestamp is {int(age)} s old, more than the {tolerance} s tolerated (a replay?)"
        raise WebhookVerificationError(msg)
    if -age > tolerance:
        msg = f"the webhook-timestamp is {int(-age)} s in the future, more than the {tolerance} s tolerated"
        raise WebhookVerificationError(msg)


def _candidates(header: str) -> list[bytes]:
    """The ``v1`` signatures of the header, decoded; other versions and malformed entries are skipped."""
    candidates = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != SIGNATURE_VERSION:
            continue  # another scheme (v1a is ed25519): not this receiver's to check
        try:
            signature = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        # An empty or truncated signature never matches: only a whole HMAC-SHA256 counts.
        if len(signature) == hashlib.sha256().digest_size:
            candidates.append(signature)
    return candidates


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secrets: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: Callable[[], float] | None = None,
) -> WebhookEvent:
    """Check a delivery's signature and time, then parse it.

    Args:
        body: The request body exactly as received (bytes; a ``str`` is encoded as UTF-8). Never a re-serialized
            JSON object: a single changed byte fails the check.
        headers: The request headers; names in any case (``webhook-id``, ``webhook-timestamp``,
            ``webhook-signature``).
        secrets: The endpoint's secret, or several: during a rotation keep the old one beside the new one until
            the grace ends; the delivery is accepted when any of them made any ``v1`` signature in the header.
        tolerance: Seconds ``webhook-timestamp`` may differ from ``now`` either way; older is refused as a
            possible replay (the timestamp is signed, so it cannot be moved).
        now: The receiver's clock in unix seconds (:func:`time.time` by default).

    Returns:
        The event, parsed only after the signature matched.

    Raises:
        WebhookVerificationError: A header is missing or malformed, the timestamp is outside the tolerance, no
            signature matches, or the signed body is not a ``{"type", "timestamp", "data"}`` JSON object.
        ValueError: A secret is malformed, or no secret or a negative tolerance is given: a receiver's own
            configuration, not the sender's fault.
    """
    keys = [secret_key(secret) for secret in ([secrets] if isinstance(secrets, str) else secrets)]
    if not keys:
        msg = "verify needs at least one secret"
        raise ValueError(msg)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
        msg = "tolerance is a non-negative int of seconds"
        raise ValueError(msg)
    raw = body.encode() if isinstance(body, str) else bytes(body)
    msg_id, timestamp, header = _headers(headers)
    _check_time(timestamp, tolerance, now or time.time)
    expected = [_digest(key, msg_id, timestamp, raw) for key in keys]
    # Every pair is compared, in constant time each, so the time taken says nothing about which one matched.
    matches = [hmac.compare_digest(signature, digest) for signature in _candidates(header) for digest in expected]
    if not any(matches):
        msg = "no v1 signature in webhook-signature matches the body with the secrets given"
        raise WebhookVerificationError(msg)
    try:
        payload = msgspec.json.decode(raw, type=_Payload)
    except msgspec.ValidationError as error:
        msg = f"the body is not a Standard Webhooks event: {error}"
        raise WebhookVerificationError(msg) from None
    except msgspec.DecodeError:
        msg = "the body is not JSON"
        raise WebhookVerificationError(msg) from None
    return WebhookEvent(id=msg_id, type=payload.type, timestamp=payload.timestamp, data=payload.data, raw=raw)
