"""Sending taken attempts: the target resolved and checked again, the body signed and POSTed to the checked address.

A signing secret the configured key cannot open fails the attempt without sending anything (``signing_secret``);
a target that no longer passes the checks fails it as ``blocked_target``, one that does not resolve as
``connection``. Nothing here raises for a receiver's failure: every attempt ends in a :class:`SendResult`.
"""

from __future__ import annotations

import asyncio
import time
from functools import lru_cache
from typing import TYPE_CHECKING

from litestar_payguard.exceptions import (
    WebhookTargetBlockedError,
    WebhookTargetUnresolvedError,
    WebhookUrlInvalidError,
    WebhookUrlNotHttpsError,
)
from litestar_payguard.models import AttemptErrorKind
from litestar_payguard.observability import span, webhook_attempt
from litestar_payguard.services.webhooks.outbound.payload import delivery_headers
from litestar_payguard.services.webhooks.outbound.targets import (
    check_url,
    parse_networks,
    resolve_target,
    system_resolver,
)
from litestar_payguard.services.webhooks.outbound.transport import SendResult, send

if TYPE_CHECKING:
    import httpx

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.services.webhooks.outbound.outcome import Attempt
    from litestar_payguard.services.webhooks.outbound.targets import Resolver

__all__ = ("RESOLVE_TIMEOUT_SECONDS", "AttemptSender")

RESOLVE_TIMEOUT_SECONDS = 10.0
"""The most a target's resolution may take of an attempt's timeout."""

_checked_url = lru_cache(maxsize=1024)(check_url)
""":func:`~.targets.check_url` of the endpoints' URLs, each parsed once (the form of a URL never changes; its
addresses are resolved and checked at every attempt)."""


class AttemptSender:
    """Sends attempts taken by :class:`~.deliver.WebhookDeliverer`.

    Args:
        config: payguard's configuration.
        client: The HTTP client (:func:`~.transport.make_client`; tests give one on a recording transport).
        resolver: Resolves target host names (the system's by default; tests inject one).
    """

    __slots__ = ("_client", "_config", "_networks", "_resolver")

    def __init__(self, config: PayGuardConfig, client: httpx.AsyncClient, resolver: Resolver | None = None) -> None:
        self._config = config
        self._client = client
        self._resolver = resolver
        self._networks = parse_networks(config.webhook_allowed_networks)

    async def send_all(self, taken: list[Attempt]) -> list[SendResult]:
        """Send the attempts at once (each in its span, each counted); their results in the same order."""

        async def one(attempt: Attempt) -> SendResult:
            attributes = {
                "payguard.webhook.delivery_id": str(attempt.delivery_id),
                "payguard.webhook.attempt": attempt.number,
            }
            # A child of the span that wrote its event (a request's, a job's), linked to this delivery job's.
            with span("payguard.webhook deliver", attributes, kind="CLIENT", continues=attempt.trace_context):
                result = await self.send(attempt)
            webhook_attempt(result.error_kind.value if result.error_kind else "delivered", result.duration_seconds)
            return result

        if len(taken) == 1:
            return [await one(taken[0])]
        return list(await asyncio.gather(*(one(attempt) for attempt in taken)))

    async def send(self, attempt: Attempt) -> SendResult:
        """Resolve and check the target again, then POST the signed body to the checked address.

        The attempt's timeout bounds both: the resolution's time is taken off the request's.
        """
        if attempt.unreadable is not None:
            return SendResult(None, (), b"", AttemptErrorKind.SIGNING_SECRET, attempt.unreadable, 0.0)
        timeout, started = self._config.webhook_timeout_seconds, time.monotonic()
        try:
            target = _checked_url(attempt.url, allow_http=attempt.test_mode)
            resolved = await resolve_target(
                target,
                allowed_networks=self._networks,
                resolver=self._resolver or system_resolver,
                timeout=min(timeout, RESOLVE_TIMEOUT_SECONDS),
            )
        except WebhookTargetUnresolvedError as exc:
            return SendResult(None, (), b"", AttemptErrorKind.CONNECTION, exc.detail, 0.0)
        except (WebhookUrlInvalidError, WebhookUrlNotHttpsError, WebhookTargetBlockedError) as exc:
            return SendResult(None, (), b"", AttemptErrorKind.BLOCKED_TARGET, exc.detail, 0.0)
        timestamp = int(self._config.clock.now().timestamp())
        headers = delivery_headers(str(attempt.event_id), timestamp, attempt.body, attempt.secrets)
        left = max(timeout - (time.monotonic() - started), 0.001)
        return await send(self._client, resolved, attempt.url, body=attempt.body, headers=headers, timeout=left)
