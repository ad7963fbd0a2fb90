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

__all__ = (
    "SEALED_PREFIX",
    "IPAddress",
    "IPNetwork",
    "ParsedTarget",
    "ResolvedTarget",
    "Resolver",
    "SecretBox",
    "blocked_reason",
    "check_url",
    "is_sealed",
    "parse_networks",
    "resolve_target",
    "system_resolver",
)
