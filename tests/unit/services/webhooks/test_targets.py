"""Webhook targets: the URL rules, and every non-public range refused unless allowed (no DNS, no traffic)."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from litestar_payguard.exceptions import (
    WebhookTargetBlockedError,
    WebhookTargetUnresolvedError,
    WebhookUrlInvalidError,
    WebhookUrlNotHttpsError,
)
from litestar_payguard.services.webhooks.outbound import (
    IPAddress,
    ResolvedTarget,
    blocked_reason,
    check_url,
    parse_networks,
    resolve_target,
)


class FakeDns:
    """A resolver answering from a table; it records what it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append((host, port))
        if host not in self.table:
            raise OSError("no such host")
        return [ip_address(address) for address in self.table[host]]


BLOCKED = [
    ("0.0.0.0", "unspecified"),
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),  # the cloud metadata service
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.10", "private"),  # TEST-NET-1, documentation
    ("198.51.100.7", "private"),  # TEST-NET-2
    ("203.0.113.5", "private"),  # TEST-NET-3
    ("198.18.0.1", "private"),  # benchmarking
    ("192.0.0.170", "private"),  # IETF protocol assignments
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "private"),  # documentation
    ("2001::1", "private"),  # Teredo
    ("100::1", "private"),  # discard-only
    ("::10.0.0.1", "IPv4-compatible"),
    ("::8.8.8.8", "IPv4-compatible"),
    ("::ffff:127.0.0.1", "loopback, reached through IPv6"),
    ("::ffff:10.0.0.1", "private, reached through IPv6"),
    ("::ffff:169.254.169.254", "link-local, reached through IPv6"),
    ("::ffff:100.64.0.1", "CGNAT"),
    ("64:ff9b::a00:1", "private, reached through IPv6"),  # NAT64 of 10.0.0.1
    ("64:ff9b::7f00:1", "loopback, reached through IPv6"),  # NAT64 of 127.0.0.1
    ("64:ff9b:1::1", "reserved"),  # local-use NAT64
    ("2002:a00:1::1", "private, reached through IPv6"),  # 6to4 of 10.0.0.1
    ("2002:7f00:1::1", "loopback, reached through IPv6"),  # 6to4 of 127.0.0.1
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "reason"), BLOCKED)
def test_every_non_public_range_is_refused_by_name(address: str, reason: str) -> None:
    found = blocked_reason(ip_address(address))
    assert found is not None
    assert reason in found


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ip_address(address)) is None


@pytest.mark.parametrize(("address", "_reason"), BLOCKED)
async def test_a_host_resolving_to_a_blocked_address_is_refused_with_the_address(address: str, _reason: str) -> None:
    dns = FakeDns({"hooks.shop.example": [address]})
    target = check_url("https://hooks.shop.example/payguard?token=s3cr3t", allow_http=False)
    with pytest.raises(WebhookTargetBlockedError) as caught:
        await resolve_target(target, allowed_networks=(), resolver=dns)
    error = caught.value
    assert (error.status_code, error.code) == (422, "WEBHOOK_TARGET_BLOCKED")
    assert error.extra["address"] == str(ip_address(address))
    assert error.extra["reason"] in error.detail
    assert "s3cr3t" not in error.detail + repr(error.extra)  # the URL's query (often a secret) is never echoed
    assert dns.asked == [("hooks.shop.example", 443)]


async def test_a_name_resolving_to_loopback_is_refused_without_the_allow_list() -> None:
    dns = FakeDns({"receiver.test": ["127.0.0.1"]})
    with pytest.raises(WebhookTargetBlockedError, match=r"127\.0\.0\.1, which is loopback"):
        await resolve_target(check_url("https://receiver.test/", allow_http=False), allowed_networks=(), resolver=dns)


async def test_the_allow_list_lets_its_networks_through_and_nothing_else() -> None:
    allowed = parse_networks(["127.0.0.0/8", "::1/128"])
    dns = FakeDns({"receiver.test": ["127.0.0.1", "::1"], "mixed.test": ["127.0.0.1", "10.0.0.1"]})
    resolved = await resolve_target(
        check_url("https://receiver.test:8443/hook", allow_http=False), allowed_networks=allowed, resolver=dns
    )
    assert resolved == ResolvedTarget(host="receiver.test", port=8443, address=ip_address("127.0.0.1"))
    assert resolved.sni_hostname == "receiver.test"
    assert blocked_reason(ip_address("::ffff:127.0.0.1"), allowed) is None  # mapped: the IPv4 address it reaches
    assert blocked_reason(ip_address("::2"), allowed) is not None
    with pytest.raises(WebhookTargetBlockedError, match=r"10\.0\.0\.1"):  # one bad address is enough
        await resolve_target(check_url("https://mixed.test/", allow_http=False), allowed_networks=allowed, resolver=dns)


async def test_ip_literals_are_checked_without_resolving() -> None:
    dns = FakeDns({})
    for url in ("https://127.0.0.1/", "https://[::1]:8443/", "https://[::ffff:7f00:1]/", "https://169.254.169.254/"):
        with pytest.raises(WebhookTargetBlockedError):
            await resolve_target(check_url(url, allow_http=False), allowed_networks=(), resolver=dns)
    resolved = await resolve_target(
        check_url("https://[::1]:8443/", allow_http=False), allowed_networks=parse_networks(["::1/128"]), resolver=dns
    )
    assert (resolved.host, resolved.port, resolved.address, resolved.sni_hostname) == (
        "::1",
        8443,
        ip_address("::1"),
        None,
    )
    assert dns.asked == []


async def test_a_name_without_addresses_is_unresolved() -> None:
    dns = FakeDns({"empty.test": []})
    for url in ("https://nowhere.test/", "https://empty.test/"):
        with pytest.raises(WebhookTargetUnresolvedError) as caught:
            await resolve_target(check_url(url, allow_http=False), allowed_networks=(), resolver=dns)
        assert (caught.value.status_code, caught.value.code) == (422, "WEBHOOK_TARGET_UNRESOLVED")


@pytest.mark.parametrize(
    ("url", "port"),
    [("https://Hooks.Shop.example/x", 443), ("http://localhost:8080/", 8080), ("https://bücher.example/", 443)],
)
def test_a_good_url_is_parsed_to_its_host_and_port(url: str, port: int) -> None:
    target = check_url(url, allow_http=True)
    assert target.port == port
    assert target.host.isascii()
    assert target.url == url


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw@hooks.example/",
        "https://token@hooks.example/",
        "https:///path",
        "https://hooks.example:0/",
        "https://hooks.example:70000/",
        "https://hooks.example:port/",
        "https://hooks example/",
        "https://hooks.example/\nx",
        "https://hooks.example/" + "a" * 2048,
    ],
)
def test_a_url_that_cannot_be_a_target_is_invalid(url: str) -> None:
    with pytest.raises(WebhookUrlInvalidError) as caught:
        check_url(url, allow_http=True)
    assert (caught.value.status_code, caught.value.code, caught.value.extra) == (
        422,
        "WEBHOOK_URL_INVALID",
        {"field": "url"},
    )
    assert "pw" not in caught.value.detail


@pytest.mark.parametrize(
    "url", ["http://hooks.example/", "ftp://hooks.example/", "hooks.example/x", "//hooks.example/"]
)
def test_only_https_unless_http_is_allowed(url: str) -> None:
    with pytest.raises(WebhookUrlNotHttpsError) as caught:
        check_url(url, allow_http=False)
    assert (caught.value.status_code, caught.value.code) == (422, "WEBHOOK_URL_NOT_HTTPS")


def test_http_is_accepted_for_test_mode_merchants_only_when_asked() -> None:
    assert check_url("http://hooks.example/", allow_http=True).scheme == "http"
    with pytest.raises(WebhookUrlNotHttpsError):
        check_url("ftp://hooks.example/", allow_http=True)
