"""Where a webhook may be sent: the URL rules, and the address check made before every connection.

A merchant's endpoint URL is checked when it is registered (:func:`check_url`, then :func:`resolve_target`) and
again before every attempt (:func:`resolve_target`): the host name is resolved once, every address it resolves to
must be public, and the attempt connects to the checked address (see ``transport``), so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot send a delivery into the host's own network.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Protocol

import httpx

from litestar_payguard.exceptions import (
    WebhookTargetBlockedError,
    WebhookTargetUnresolvedError,
    WebhookUrlInvalidError,
    WebhookUrlNotHttpsError,
)

__all__ = (
    "MAX_URL_LENGTH",
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

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
MAX_URL_LENGTH = 2048
"""Longest endpoint URL accepted."""
_DEFAULT_PORTS = {"https": 443, "http": 80}
_CGNAT = ip_network("100.64.0.0/10")
_NAT64 = ip_network("64:ff9b::/96")
"""The well-known NAT64 prefix: its last 32 bits are the IPv4 address reached, which is what is judged."""
_IPV4_COMPATIBLE = ip_network("::/96")


class Resolver(Protocol):
    """Resolves a host name to its addresses (a test injects one that answers without DNS)."""

    def __call__(self, host: str, port: int, /) -> Awaitable[list[IPAddress]]:
        """Return every address ``host`` resolves to for a TCP connection on ``port``."""
        ...


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve with the operating system (``getaddrinfo``), without blocking the event loop.

    Raises:
        socket.gaierror: The name does not resolve.
    """
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True, slots=True)
class ParsedTarget:
    """An endpoint URL that passed :func:`check_url`.

    Attributes:
        url: The URL as given.
        scheme: ``https`` (or ``http`` for a test-mode merchant).
        host: The host, ASCII (IDNA-encoded), without brackets for an IPv6 literal.
        port: The port connected to (443 or 80 when the URL names none).
        literal: The address when the host is an IP literal, else ``None``.
    """

    url: str
    scheme: str
    host: str
    port: int
    literal: IPAddress | None


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A target whose every address was checked: ``address`` is the one to connect to.

    Attributes:
        host: The URL's host (the ``Host`` header and, unless it is an IP literal, the TLS server name).
        port: The port to connect to.
        address: The checked address.
    """

    host: str
    port: int
    address: IPAddress

    @property
    def sni_hostname(self) -> str | None:
        """The name TLS verifies the certificate against; ``None`` for an IP literal (its address is verified)."""
        return None if _literal(self.host) is not None else self.host


def _invalid(detail: str) -> WebhookUrlInvalidError:
    return WebhookUrlInvalidError(detail, extra={"field": "url"})


def _literal(host: str) -> IPAddress | None:
    try:
        return ip_address(host)
    except ValueError:
        return None


def check_url(url: str, *, allow_http: bool) -> ParsedTarget:
    """Check an endpoint URL's form (no network): absolute, ``https`` unless allowed, a host, no credentials.

    Args:
        url: The URL the merchant gave.
        allow_http: Accept ``http://`` too (test-mode merchants, whose receivers are often local).

    Raises:
        WebhookUrlInvalidError: The URL cannot be a target.
        WebhookUrlNotHttpsError: The scheme is not ``https`` (nor an allowed ``http``).
    """
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise _invalid("The URL contains spaces or control characters.")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _invalid(f"The URL does not parse: {exc}.") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parsed.scheme not in schemes:
        msg = "The URL must start with https://" + (" or http://" if allow_http else "")
        raise WebhookUrlNotHttpsError(f"{msg}; got {parsed.scheme or 'no'} scheme.", extra={"field": "url"})
    if not parsed.raw_host:
        raise _invalid("The URL has no host.")
    if parsed.userinfo:
        raise _invalid("The URL must not carry a user name or password; use the signature to authenticate us.")
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS[parsed.scheme]
    if not 1 <= port <= 65535:  # the TCP port range
        raise _invalid(f"The URL's port must be between 1 and 65535, got {port}.")
    host = parsed.raw_host.decode("ascii")
    return ParsedTarget(url=url, scheme=parsed.scheme, host=host, port=port, literal=_literal(host))


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse ``webhook_allowed_networks`` (already validated by the configuration)."""
    return tuple(ip_network(cidr) for cidr in cidrs)


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address really reaches: IPv4-mapped, NAT64 or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _reason_v4(address: IPv4Address) -> str | None:
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _CGNAT, "shared address space (CGNAT)"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
    )
    reason = next((name for hit, name in checks if hit), None)
    return reason or (None if address.is_global else "not globally reachable")


def _reason_v6(address: IPv6Address) -> str | None:
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_site_local, "site-local"),
        (address.is_multicast, "multicast"),
        (address in _IPV4_COMPATIBLE, "IPv4-compatible (deprecated)"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
    )
    reason = next((name for hit, name in checks if hit), None)
    return reason or (None if address.is_global else "not globally reachable")


def blocked_reason(address: IPAddress, allowed_networks: Sequence[IPNetwork] = ()) -> str | None:
    """Why a delivery must not connect to ``address`` (``None``: it may).

    Public addresses pass; anything else (loopback, private, link-local, CGNAT, multicast, reserved, unspecified,
    documentation and benchmark ranges, site-local) is refused unless it lies in ``allowed_networks``. An IPv6
    address reaching an IPv4 one (IPv4-mapped, NAT64, 6to4) is judged by that IPv4 address.
    """
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            if any(address in net or embedded in net for net in allowed_networks):
                return None
            inner = _reason_v4(embedded)
            return None if inner is None else f"{inner}, reached through IPv6 {address}"
    if any(address in net for net in allowed_networks):
        return None
    return _reason_v4(address) if isinstance(address, IPv4Address) else _reason_v6(address)


async def resolve_target(
    target: ParsedTarget,
    *,
    allowed_networks: Sequence[IPNetwork],
    resolver: Resolver = system_resolver,
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline on the resolution alone, not on the caller
) -> ResolvedTarget:
    """Resolve the target's host once and check every address it has; connect to the first.

    Args:
        target: A URL that passed :func:`check_url`.
        allowed_networks: Networks that may be reached although not public (``webhook_allowed_networks``).
        resolver: How names are resolved.
        timeout: Seconds the resolution may take.

    Raises:
        WebhookTargetBlockedError: An address is not public and not allowed (``reason`` and ``address`` say which).
        WebhookTargetUnresolvedError: The name has no address (or the resolution timed out).
    """
    if target.literal is not None:
        addresses: list[IPAddress] = [target.literal]
    else:
        try:
            async with asyncio.timeout(timeout):
                addresses = list(await resolver(target.host, target.port))
        except (OSError, TimeoutError) as exc:
            msg = f"The host {target.host} does not resolve ({type(exc).__name__})."
            raise WebhookTargetUnresolvedError(msg, extra={"field": "url", "host": target.host}) from None
        if not addresses:
            msg = f"The host {target.host} has no address."
            raise WebhookTargetUnresolvedError(msg, extra={"field": "url", "host": target.host})
    for address in addresses:
        reason = blocked_reason(address, allowed_networks)
        if reason is not None:
            msg = f"The host {target.host} is at {address}, which is {reason}: webhooks only go to public addresses."
            extra = {"field": "url", "host": target.host, "address": str(address), "reason": reason}
            raise WebhookTargetBlockedError(msg, extra=extra)
    return ResolvedTarget(host=target.host, port=target.port, address=addresses[0])
