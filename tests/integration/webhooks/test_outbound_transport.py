"""A real HTTPS receiver on 127.0.0.1, reached through the checked address with TLS verified against its name.

The receiver's certificates come from a test authority made here with ``cryptography``; host names resolve
through an injected resolver, so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from litestar_payguard.exceptions import WebhookTargetBlockedError
from litestar_payguard.models import AttemptErrorKind
from litestar_payguard.services.webhooks.outbound import (
    IPAddress,
    ResolvedTarget,
    SendResult,
    check_url,
    make_client,
    parse_networks,
    resolve_target,
    send,
    system_resolver,
)

LOOPBACK = parse_networks(["127.0.0.0/8"])
BODY = b'{"type":"webhook.test","timestamp":"2026-01-01T00:00:00Z","data":{}}'
HEADERS = {"content-type": "application/json", "webhook-id": "evt_transport"}


@dataclass
class Authority:
    """A certificate authority for the test, and the leaf certificates it signs."""

    directory: Path
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    cert: x509.Certificate | None = None

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "payguard test authority")])
        self.cert = (
            self._builder(name, name, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(*([False] * 5), True, True, False, False), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    @staticmethod
    def _builder(
        subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
    ) -> x509.CertificateBuilder:
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
        )

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this authority only."""
        assert self.cert is not None
        return ssl.create_default_context(cadata=self.cert.public_bytes(serialization.Encoding.PEM).decode())

    def server_context(self, *names: str, on_sni: Callable[[str | None], None]) -> ssl.SSLContext:
        """A server context with a certificate for ``names``, signed by this authority; SNI names are reported."""
        assert self.cert is not None
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            self._builder(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]), self.cert.subject, key.public_key()
            )
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_file, key_file = self.directory / f"{names[0]}.pem", self.directory / f"{names[0]}.key"
        cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        context.sni_callback = lambda _sock, name, _context: on_sni(name)
        return context


@dataclass
class Receiver:
    """A small HTTPS/1.1 server on 127.0.0.1 that records what reached it (keep-alive, Content-Length bodies)."""

    status: int = 204
    delay: float = 0.0
    extra_headers: str = ""
    sni: list[str | None] = field(default_factory=list)
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    port: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                fields = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
                headers = {name.lower(): value for name, value in fields.items()}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((head[0], headers["host"], body))
                await asyncio.sleep(self.delay)
                writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\n{self.extra_headers}\r\n".encode())
                await writer.drain()
        writer.close()

    def _track(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @contextlib.asynccontextmanager
    async def running(self, context: ssl.SSLContext) -> AsyncIterator[Receiver]:
        server = await asyncio.start_server(self._track, "127.0.0.1", 0, ssl=context)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()


class Dns:
    """Resolves the test's names to 127.0.0.1, and nothing else."""

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        assert host.endswith(".test"), host
        return [IPv4Address("127.0.0.1")]


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path)


async def deliver(
    receiver: Receiver, authority: Authority, host: str = "receiver.test", *, verify: bool = True, deadline: float = 5
) -> SendResult:
    url = f"https://{host}:{receiver.port}/hooks?shop=1"
    resolved = await resolve_target(check_url(url, allow_http=False), allowed_networks=LOOPBACK, resolver=Dns())
    assert resolved.address == ip_address("127.0.0.1")
    async with make_client(timeout=deadline, verify=authority.client_context() if verify else True) as client:
        return await send(client, resolved, url, body=BODY, headers=HEADERS, timeout=deadline)


async def test_a_delivery_reaches_the_checked_address_with_tls_verified_for_the_host_name(authority: Authority) -> None:
    receiver = Receiver()
    async with receiver.running(authority.server_context("receiver.test", on_sni=receiver.sni.append)):
        result = await deliver(receiver, authority)
    assert (result.status_code, result.error_kind, result.body) == (204, None, b"")
    assert result.delivered
    assert receiver.sni == ["receiver.test"]
    assert receiver.requests == [("POST /hooks?shop=1 HTTP/1.1", f"receiver.test:{receiver.port}", BODY)]


async def test_without_the_allow_list_a_name_on_loopback_is_refused_before_any_connection(authority: Authority) -> None:
    receiver = Receiver()
    async with receiver.running(authority.server_context("receiver.test", on_sni=receiver.sni.append)):
        target = check_url(f"https://receiver.test:{receiver.port}/", allow_http=False)
        with pytest.raises(WebhookTargetBlockedError, match="loopback"):
            await resolve_target(target, allowed_networks=(), resolver=Dns())
    assert (receiver.sni, receiver.requests) == ([], [])


@pytest.mark.parametrize("verify", [True, False], ids=["test-authority", "system-authorities"])
async def test_a_certificate_that_does_not_verify_is_a_tls_failure(authority: Authority, verify: bool) -> None:
    receiver = Receiver()
    names = ("other.test",) if verify else ("receiver.test",)  # another name; or a name no system authority signed
    async with receiver.running(authority.server_context(*names, on_sni=receiver.sni.append)):
        result = await deliver(receiver, authority, verify=verify)
    assert (result.status_code, result.error_kind) == (None, AttemptErrorKind.TLS)
    assert "certificate" in (result.detail or "").lower() or "hostname" in (result.detail or "").lower()
    assert receiver.requests == []


async def test_two_names_on_one_address_never_share_a_connection(authority: Authority) -> None:
    receiver = Receiver()
    context = authority.server_context("receiver.test", "second.test", on_sni=receiver.sni.append)
    async with receiver.running(context), make_client(timeout=5, verify=authority.client_context()) as client:
        for host in ("receiver.test", "receiver.test", "second.test"):
            url = f"https://{host}:{receiver.port}/h"
            resolved = ResolvedTarget(host=host, port=receiver.port, address=ip_address("127.0.0.1"))
            assert (await send(client, resolved, url, body=BODY, headers=HEADERS, timeout=5)).delivered
    assert receiver.sni == ["receiver.test", "second.test"]  # the first connection served both receiver.test posts
    assert [host for _line, host, _body in receiver.requests] == [
        f"receiver.test:{receiver.port}",
        f"receiver.test:{receiver.port}",
        f"second.test:{receiver.port}",
    ]


async def test_proxies_from_the_environment_are_ignored(authority: Authority, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")  # the discard port: a proxied request would fail
    receiver = Receiver()
    async with receiver.running(authority.server_context("receiver.test", on_sni=receiver.sni.append)):
        assert (await deliver(receiver, authority)).delivered
    assert len(receiver.requests) == 1


async def test_a_redirect_is_a_failure_and_is_not_followed(authority: Authority) -> None:
    receiver = Receiver(status=302, extra_headers="Location: https://receiver.test/elsewhere\r\n")
    async with receiver.running(authority.server_context("receiver.test", on_sni=receiver.sni.append)):
        result = await deliver(receiver, authority)
    assert (result.status_code, result.error_kind) == (302, AttemptErrorKind.REDIRECT)
    assert len(receiver.requests) == 1


async def test_a_slow_receiver_is_a_timeout_within_the_deadline(authority: Authority) -> None:
    receiver = Receiver(delay=10)
    async with receiver.running(authority.server_context("receiver.test", on_sni=receiver.sni.append)):
        result = await deliver(receiver, authority, deadline=0.5)
    assert (result.status_code, result.error_kind) == (None, AttemptErrorKind.TIMEOUT)
    assert result.duration_seconds < 5
    assert len(receiver.requests) == 1


async def test_a_closed_port_is_a_connection_failure(authority: Authority) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = Receiver(port=port)
    result = await deliver(receiver, authority)
    assert (result.status_code, result.error_kind) == (None, AttemptErrorKind.CONNECTION)


async def test_the_system_resolver_answers_for_localhost() -> None:
    addresses = await system_resolver("localhost", 443)
    assert addresses
    assert all(address.is_loopback for address in addresses)
