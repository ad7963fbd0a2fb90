"""Outbound webhooks: where deliveries may go, how they connect, and how signing secrets are kept at rest."""

from litestar_payguard.services.webhooks.outbound.secret_box import SEALED_PREFIX, SecretBox, is_sealed
from litestar_payguard.services.webhooks.outbound.targets import (
    IPAddress,
    IPNetwork,
    ParsedTarget,
    ResolvedTarget,
    Resolver,
    blocked_reason,
    check_url,
    parse_networks,
    resolve_target,
    system_resolver,
)
from litestar_payguard.services.webhooks.outbound.transport import (
    MAX_RESPONSE_BYTES,
    PinnedTransport,
    RecordedConnection,
    RecordingTransport,
    SendResult,
    make_client,
    pinned_request,
    send,
)

__all__ = (
    "MAX_RESPONSE_BYTES",
    "SEALED_PREFIX",
    "IPAddress",
    "IPNetwork",
    "ParsedTarget",
    "PinnedTransport",
    "RecordedConnection",
    "RecordingTransport",
    "ResolvedTarget",
    "Resolver",
    "SecretBox",
    "SendResult",
    "blocked_reason",
    "check_url",
    "is_sealed",
    "make_client",
    "parse_networks",
    "pinned_request",
    "resolve_target",
    "send",
    "system_resolver",
)
