"""How one webhook attempt reaches its receiver: to the checked address, with TLS verified against the host name.

The request goes to the address :func:`~.targets.resolve_target` checked, never to a fresh DNS answer; the URL's
host travels in the ``Host`` header and in httpcore's ``sni_hostname`` request extension, which becomes the TLS
``server_hostname``: the name sent as SNI *and* the name Python's ``ssl`` verifies the certificate against.
Redirects are never followed (a 3xx is a failed attempt) and proxies from the environment are ignored.

httpcore pools connections by origin (scheme, address, port) only, so two host names on one address would share
a connection verified for the first name. :class:`PinnedTransport` keeps one pool per server name instead.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import httpx

from litestar_payguard.models import TEXT_LENGTH, AttemptErrorKind
from litestar_payguard.services.webhooks.outbound.targets import ResolvedTarget

__all__ = (
    "MAX_RESPONSE_BYTES",
    "AttemptErrorKind",
    "PinnedTransport",
    "RecordedConnection",
    "RecordingTransport",
    "SendResult",
    "make_client",
    "pinned_request",
    "send",
)

MAX_RESPONSE_BYTES = 16 * 1024
"""The most of a receiver's answer read (and kept for the delivery log)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one POST came to.

    Attributes:
        status_code: The receiver's status, ``None`` when there was no answer.
        headers: Every response header, in order (the caller keeps a safe subset).
        body: The start of the answer's body, at most ``max_response_bytes``.
        error_kind: ``None`` for a 2xx answer, else why the attempt failed.
        detail: What went wrong, for people (never a secret: no URL, no request header).
        duration_seconds: From the start of the request to the end of the answer (or the failure).
    """

    status_code: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    error_kind: AttemptErrorKind | None
    detail: str | None
    duration_seconds: float

    @property
    def delivered(self) -> bool:
        """Whether the receiver accepted the delivery (2xx)."""
        return self.error_kind is None


class PinnedTransport(httpx.AsyncBaseTransport):
    """httpx's transport, with one connection pool per TLS server name and no retries.

    A connection opened (and verified) for one name is never reused for another name on the same address. Pools
    are kept for the life of the transport, one per distinct receiver host name.
    """

    def __init__(self, *, verify: ssl.SSLContext | bool = True, limits: httpx.Limits | None = None) -> None:
        """Create the transport.

        Args:
            verify: ``True`` (the system's certificate authorities), or an ``ssl.SSLContext`` (tests trust their
                own authority); never ``False`` outside tests.
            limits: Connection limits of each pool.
        """
        self._verify = verify
        self._limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}

    def _pool(self, request: httpx.Request) -> httpx.AsyncHTTPTransport:
        name = str(request.extensions.get("sni_hostname") or request.url.host)
        pool = self._pools.get(name)
        if pool is None:
            pool = httpx.AsyncHTTPTransport(verify=self._verify, limits=self._limits, trust_env=False, retries=0)
            self._pools[name] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request through the pool of its server name."""
        return await self._pool(request).handle_async_request(request)

    async def aclose(self) -> None:
        """Close every pool."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def make_client(*, timeout: float, verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """Return the client deliveries share: pinned pools, redirects not followed, environment proxies ignored.

    Args:
        timeout: ``PayGuardConfig.webhook_timeout_seconds`` (each phase; :func:`send` bounds the whole attempt).
        verify: As :class:`PinnedTransport`'s.
    """
    return httpx.AsyncClient(
        transport=PinnedTransport(verify=verify), follow_redirects=False, trust_env=False, timeout=timeout
    )


def pinned_request(
    client: httpx.AsyncClient,
    resolved: ResolvedTarget,
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
) -> httpx.Request:
    """Build the POST of ``body`` to ``url``, addressed to the checked address.

    The URL's host is kept for HTTP (``Host``) and for TLS (``sni_hostname``: SNI and certificate verification).
    """
    to_address, host = _addressed(url, str(resolved.address))
    extensions = {"sni_hostname": resolved.sni_hostname} if resolved.sni_hostname else {}
    return client.build_request(
        "POST", to_address, content=body, headers={**headers, "Host": host}, timeout=timeout, extensions=extensions
    )


@lru_cache(maxsize=1024)
def _addressed(url: str, address: str) -> tuple[httpx.URL, str]:
    """``url`` with its host replaced by ``address``, and the ``Host`` header it needs (parsed once per pair)."""
    original = httpx.URL(url)
    return original.copy_with(host=address), original.netloc.decode("ascii")


def _tls_error(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _failure(exc: BaseException) -> tuple[AttemptErrorKind, str]:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return AttemptErrorKind.TIMEOUT, "no complete answer within the attempt's deadline"
    tls = _tls_error(exc)
    if tls is not None:
        reason = getattr(tls, "verify_message", None) or tls
        return AttemptErrorKind.TLS, f"TLS handshake failed: {reason}"[:TEXT_LENGTH]
    return AttemptErrorKind.CONNECTION, f"{type(exc).__name__}: {exc}"[:TEXT_LENGTH]


def _outcome(status: int) -> tuple[AttemptErrorKind | None, str | None]:
    if 200 <= status < 300:  # the 2xx class
        return None, None
    if 300 <= status < 400:  # the 3xx class
        return AttemptErrorKind.REDIRECT, f"answered {status}: redirects are not followed"
    return AttemptErrorKind.HTTP_STATUS, f"answered {status}"


async def _read(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


async def send(
    client: httpx.AsyncClient,
    resolved: ResolvedTarget,
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,  # noqa: ASYNC109 - the attempt's deadline also bounds the connection and the reads
    max_response_bytes: int = MAX_RESPONSE_BYTES,
) -> SendResult:
    """POST ``body`` once to the checked address and classify the outcome; never raises for a network failure.

    Args:
        client: From :func:`make_client` (or one on a :class:`RecordingTransport` in tests).
        resolved: The checked target (:func:`~.targets.resolve_target`, just before).
        url: The endpoint URL.
        body: The exact bytes signed.
        headers: The request headers (signature, id, timestamp, content type, user agent).
        timeout: Seconds the whole attempt may take, from connecting to the last byte read.
        max_response_bytes: The most of the answer's body read.
    """
    request = pinned_request(client, resolved, url, body=body, headers=headers, timeout=timeout)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                content = await _read(response, max_response_bytes)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TransportError, httpx.DecodingError, ssl.SSLError, OSError) as exc:
        kind, detail = _failure(exc)
        return SendResult(None, (), b"", kind, detail, time.perf_counter() - started)
    kind_or_none, detail_or_none = _outcome(response.status_code)
    return SendResult(
        response.status_code,
        tuple(response.headers.multi_items()),
        content,
        kind_or_none,
        detail_or_none,
        time.perf_counter() - started,
    )


@dataclass(frozen=True, slots=True)
class RecordedConnection:
    """A connection a :class:`RecordingTransport` was asked to make, and the request it carried."""

    address: str
    port: int
    host_header: str
    sni_hostname: str | None
    request: httpx.Request


@dataclass
class RecordingTransport(httpx.AsyncBaseTransport):
    """For tests: records where each request would connect and answers a canned response, with no network I/O.

    Attributes:
        status_code: The status of the canned answer.
        headers: Its headers.
        content: Its body.
        respond: Builds the answer instead, from the request (a receiver's logic in a test).
        connections: Every connection asked for, in order.
    """

    status_code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""
    respond: Callable[[httpx.Request], httpx.Response] | None = None
    connections: list[RecordedConnection] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record the connection and answer without connecting."""
        await request.aread()
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        sni = request.extensions.get("sni_hostname")
        self.connections.append(
            RecordedConnection(
                request.url.host, port, request.headers["Host"], None if sni is None else str(sni), request
            )
        )
        if self.respond is not None:
            return self.respond(request)
        return httpx.Response(self.status_code, headers=dict(self.headers), content=self.content, request=request)
