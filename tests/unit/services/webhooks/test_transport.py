"""One attempt's request: to the checked address, the host name kept for HTTP and TLS; outcomes classified.

Every test here answers from a RecordingTransport: nothing is sent anywhere.
"""

from __future__ import annotations

import ssl
from ipaddress import ip_address

import httpx
import pytest

from litestar_payguard.models import AttemptErrorKind
from litestar_payguard.services.webhooks.outbound import (
    RecordingTransport,
    ResolvedTarget,
    SendResult,
    make_client,
    send,
)

BODY = b'{"type":"payment.succeeded","timestamp":"2026-01-01T00:00:00Z","data":{}}'
HEADERS = {"content-type": "application/json", "webhook-id": "evt_1", "webhook-signature": "v1,abc"}
RECEIVER = ResolvedTarget(host="receiver.test", port=8443, address=ip_address("203.0.113.7"))


async def post(transport: RecordingTransport, resolved: ResolvedTarget = RECEIVER, url: str = "") -> SendResult:
    async with httpx.AsyncClient(transport=transport) as client:
        return await send(
            client, resolved, url or "https://receiver.test:8443/hooks?shop=1", body=BODY, headers=HEADERS, timeout=5
        )


async def test_the_request_goes_to_the_checked_address_with_the_host_name_for_http_and_tls() -> None:
    transport = RecordingTransport(status_code=204)
    result = await post(transport)
    (connection,) = transport.connections
    assert (connection.address, connection.port) == ("203.0.113.7", 8443)
    assert (connection.host_header, connection.sni_hostname) == ("receiver.test:8443", "receiver.test")
    request = connection.request
    assert (request.method, request.url.raw_path, request.content) == ("POST", b"/hooks?shop=1", BODY)
    assert {name: request.headers[name] for name in HEADERS} == HEADERS
    assert result == SendResult(204, (), b"", None, None, result.duration_seconds)


async def test_an_ipv6_address_and_an_ip_literal_url() -> None:
    transport = RecordingTransport()
    v6 = ResolvedTarget(host="receiver.test", port=443, address=ip_address("2001:4860::8888"))
    await post(transport, v6, "https://receiver.test/h")
    literal = ResolvedTarget(host="2001:4860::8888", port=443, address=ip_address("2001:4860::8888"))
    await post(transport, literal, "https://[2001:4860::8888]/h")
    first, second = transport.connections
    assert (first.address, first.host_header, first.sni_hostname) == (
        "2001:4860::8888",
        "receiver.test",
        "receiver.test",
    )
    assert (second.address, second.host_header, second.sni_hostname) == ("2001:4860::8888", "[2001:4860::8888]", None)


@pytest.mark.parametrize(
    ("status", "kind", "detail"),
    [
        (200, None, None),
        (299, None, None),
        (301, AttemptErrorKind.REDIRECT, "answered 301: redirects are not followed"),
        (308, AttemptErrorKind.REDIRECT, "answered 308: redirects are not followed"),
        (400, AttemptErrorKind.HTTP_STATUS, "answered 400"),
        (410, AttemptErrorKind.HTTP_STATUS, "answered 410"),
        (429, AttemptErrorKind.HTTP_STATUS, "answered 429"),
        (503, AttemptErrorKind.HTTP_STATUS, "answered 503"),
    ],
)
async def test_statuses_are_classified(status: int, kind: AttemptErrorKind | None, detail: str | None) -> None:
    transport = RecordingTransport(
        status_code=status, headers={"location": "https://elsewhere.test/", "retry-after": "7"}
    )
    result = await post(transport)
    assert (result.status_code, result.error_kind, result.detail, result.delivered) == (
        status,
        kind,
        detail,
        kind is None,
    )
    assert ("retry-after", "7") in result.headers
    assert len(transport.connections) == 1  # a redirect is not followed


async def test_the_shared_client_never_follows_redirects_nor_reads_proxies_from_the_environment() -> None:
    async with make_client(timeout=3) as client:
        assert (client.follow_redirects, client.trust_env) == (False, False)
        assert client.timeout == httpx.Timeout(3)


async def test_only_the_start_of_a_large_answer_is_read() -> None:
    result = await post(RecordingTransport(status_code=500, content=b"x" * 100_000))
    assert result.body == b"x" * 16 * 1024


def _raises(exc: Exception) -> RecordingTransport:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc

    return RecordingTransport(respond=respond)


def _tls_failure() -> httpx.ConnectError:
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    cause.verify_message = "Hostname mismatch, certificate is not valid for 'receiver.test'."
    error = httpx.ConnectError("handshake")
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("exc", "kind", "detail"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), AttemptErrorKind.CONNECTION, "Connection refused"),
        (httpx.RemoteProtocolError("Server disconnected"), AttemptErrorKind.CONNECTION, "Server disconnected"),
        (httpx.ReadTimeout("timed out"), AttemptErrorKind.TIMEOUT, "deadline"),
        (httpx.ConnectTimeout("timed out"), AttemptErrorKind.TIMEOUT, "deadline"),
        (_tls_failure(), AttemptErrorKind.TLS, "Hostname mismatch"),
    ],
)
async def test_failures_are_classified_and_never_raised(exc: Exception, kind: AttemptErrorKind, detail: str) -> None:
    result = await post(_raises(exc))
    assert (result.status_code, result.error_kind, result.delivered) == (None, kind, False)
    assert detail in (result.detail or "")
    assert result.detail is not None
    assert "v1,abc" not in result.detail
    assert "shop=1" not in result.detail
