"""Outbound webhooks: where deliveries may go, how they connect, and how signing secrets are kept at rest."""

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
    "IPAddress",
    "IPNetwork",
    "ParsedTarget",
    "ResolvedTarget",
    "Resolver",
    "blocked_reason",
    "check_url",
    "parse_networks",
    "resolve_target",
    "system_resolver",
)
