"""One attempt of one webhook delivery: take it, send it with no transaction open, record what came back.

Taking it (one short transaction) checks that it is due and still wanted, keeps at most
``webhook_max_in_flight_per_endpoint`` attempts of one endpoint in flight (its row is locked while they are
counted), and leases the delivery for the attempt's timeout plus a margin (``webhook_lease_seconds``): a worker
that dies mid-attempt leaves a lease that runs out, and the sweeper hands the delivery out again. The target is
resolved and checked again before every attempt and the request goes to the checked address. A signing secret
the configured key cannot open fails the attempt without sending anything (``signing_secret``), on the schedule
like any failure, so a deployment with the wrong key keeps its deliveries to recover once the key is fixed.
Recording (a second transaction) stores the attempt and decides what the delivery and its endpoint become
(:mod:`.outcome`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from litestar_payguard.exceptions import (
    WebhookSecretUnreadableError,
    WebhookTargetBlockedError,
    WebhookTargetUnresolvedError,
    WebhookUrlInvalidError,
    WebhookUrlNotHttpsError,
)
from litestar_payguard.models import (
    AttemptErrorKind,
    AttemptTrigger,
    DeliveryStatus,
    Merchant,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from litestar_payguard.observability import span, webhook_attempt
from litestar_payguard.services.webhooks.outbound.outcome import Attempt, Step, lock_delivery, record_attempt
from litestar_payguard.services.webhooks.outbound.payload import delivery_body, delivery_headers
from litestar_payguard.services.webhooks.outbound.targets import (
    check_url,
    parse_networks,
    resolve_target,
    system_resolver,
)
from litestar_payguard.services.webhooks.outbound.transport import SendResult, send

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    import httpx
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.services.webhooks.outbound.secret_box import SecretBox
    from litestar_payguard.services.webhooks.outbound.targets import Resolver
    from litestar_payguard.transactions import DbSessionFactory

__all__ = ("BUSY_RETRY", "WebhookDeliverer")

_logger = logging.getLogger("litestar_payguard")

BUSY_RETRY = timedelta(seconds=1)
"""How soon a delivery is tried again when its endpoint already has the most attempts in flight."""


class WebhookDeliverer:
    """Makes delivery attempts (one per call of :meth:`deliver`), each in two short transactions.

    Args:
        config: payguard's configuration.
        db_sessions: Opens a database session.
        client: The HTTP client (:func:`~.transport.make_client`; tests give one on a recording transport).
        box: Opens the endpoints' sealed signing secrets.
        resolver: Resolves target host names (the system's by default; tests inject one).
    """

    __slots__ = ("_box", "_client", "_config", "_db_sessions", "_resolver")

    def __init__(
        self,
        config: PayGuardConfig,
        db_sessions: DbSessionFactory,
        client: httpx.AsyncClient,
        box: SecretBox,
        resolver: Resolver | None = None,
    ) -> None:
        self._config = config
        self._db_sessions = db_sessions
        self._client = client
        self._box = box
        self._resolver = resolver

    async def deliver(self, delivery_id: UUID, *, manual: bool = False) -> Step:
        """Make an attempt if the delivery is due (``manual``: now, outside the schedule); where it stands after."""
        taken = await self._take(delivery_id, manual=manual)
        if isinstance(taken, Step):
            return taken
        attributes = {"payguard.webhook.delivery_id": str(delivery_id), "payguard.webhook.attempt": taken.number}
        with span("payguard.webhook deliver", attributes, kind="CLIENT"):
            result = await self._send(taken)
        webhook_attempt(result.error_kind.value if result.error_kind else "delivered", result.duration_seconds)
        async with self._db_sessions() as db:
            step = await record_attempt(db, self._config, taken, result, self._config.clock.now())
            await db.commit()
        return step

    async def _take(self, delivery_id: UUID, *, manual: bool) -> Attempt | Step:
        now = self._config.clock.now()
        async with self._db_sessions() as db:
            locked = await lock_delivery(db, delivery_id)
            if locked is None:
                return Step(None)
            delivery, endpoint = locked
            if (why_not := _not_now(delivery, now, manual=manual)) is not None:
                return why_not
            if not endpoint.enabled or endpoint.deleted_at is not None:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.CANCELLED, None
                await db.commit()
                return Step(DeliveryStatus.CANCELLED)
            if await _in_flight(db, endpoint.id, now) >= self._config.webhook_max_in_flight_per_endpoint:
                delivery.next_attempt_at = retry_at = now + BUSY_RETRY
                await db.commit()  # expires the row: reading it now would load it again, outside the session's IO
                return Step(DeliveryStatus.PENDING, retry_at)
            taken = await self._lease(db, delivery, endpoint, now, manual=manual)
            await db.commit()
            return taken

    async def _lease(
        self, db: AsyncSession, delivery: WebhookDelivery, endpoint: WebhookEndpoint, now: datetime, *, manual: bool
    ) -> Attempt:
        event = await db.get_one(OutboxEvent, delivery.event_id)
        test_mode = bool(await db.scalar(select(Merchant.test_mode).where(Merchant.id == endpoint.merchant_id)))
        delivery.attempts += 1
        delivery.lease_until = now + timedelta(seconds=self._config.webhook_lease_seconds)
        delivery.last_attempt_at = now
        manual = manual or delivery.manual_retry
        delivery.manual_retry = False
        secrets, unreadable = self._secrets(endpoint, now)
        return Attempt(
            delivery_id=delivery.id,
            endpoint_id=endpoint.id,
            event_id=event.id,
            number=delivery.attempts,
            trigger=AttemptTrigger.MANUAL if manual else AttemptTrigger.SCHEDULED,
            lease_until=delivery.lease_until,
            url=endpoint.url,
            test_mode=test_mode,
            body=delivery_body(
                event, events_url=f"{self._config.path}/v1/events", max_bytes=self._config.webhook_max_body_bytes
            ),
            secrets=secrets,
            unreadable=unreadable,
        )

    def _secrets(self, endpoint: WebhookEndpoint, now: datetime) -> tuple[tuple[str, ...], str | None]:
        """The endpoint's valid secrets and ``None``, or no secret and why they cannot be opened.

        The valid ones: the current secret, and the previous one until its grace ends.
        """
        try:
            current = self._box.unseal(endpoint.secret, context=str(endpoint.id))
            expires = endpoint.previous_secret_expires_at
            if endpoint.previous_secret is None or expires is None or expires <= now:
                return (current,), None
            return (current, self._box.unseal(endpoint.previous_secret, context=str(endpoint.id))), None
        except WebhookSecretUnreadableError as exc:
            _logger.error("payguard: webhook endpoint %s: %s; nothing is sent to it", endpoint.id, exc.detail)
            return (), exc.detail

    async def _send(self, attempt: Attempt) -> SendResult:
        """Resolve and check the target again, then POST the signed body to the checked address."""
        if attempt.unreadable is not None:
            return SendResult(None, (), b"", AttemptErrorKind.SIGNING_SECRET, attempt.unreadable, 0.0)
        timeout = self._config.webhook_timeout_seconds
        try:
            target = check_url(attempt.url, allow_http=attempt.test_mode)
            resolved = await resolve_target(
                target,
                allowed_networks=parse_networks(self._config.webhook_allowed_networks),
                resolver=self._resolver or system_resolver,
            )
        except WebhookTargetUnresolvedError as exc:
            return SendResult(None, (), b"", AttemptErrorKind.CONNECTION, exc.detail, 0.0)
        except (WebhookUrlInvalidError, WebhookUrlNotHttpsError, WebhookTargetBlockedError) as exc:
            return SendResult(None, (), b"", AttemptErrorKind.BLOCKED_TARGET, exc.detail, 0.0)
        timestamp = int(self._config.clock.now().timestamp())
        headers = delivery_headers(str(attempt.event_id), timestamp, attempt.body, attempt.secrets)
        return await send(self._client, resolved, attempt.url, body=attempt.body, headers=headers, timeout=timeout)


def _not_now(delivery: WebhookDelivery, now: datetime, *, manual: bool) -> Step | None:
    """Why the delivery gets no attempt now (not pending, not due, another worker's), or ``None``: it does."""
    if delivery.status is not DeliveryStatus.PENDING and not (manual and delivery.status is DeliveryStatus.FAILED):
        return Step(delivery.status)
    if delivery.lease_until is not None and delivery.lease_until > now:
        return Step(delivery.status, delivery.lease_until)
    due = delivery.next_attempt_at
    if not manual and not delivery.manual_retry and (due is None or due > now):
        return Step(delivery.status, due)
    if manual:
        delivery.status = DeliveryStatus.PENDING
    return None


async def _in_flight(db: AsyncSession, endpoint_id: UUID, now: datetime) -> int:
    """How many of the endpoint's deliveries an attempt holds right now."""
    count = await db.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.lease_until > now)
    )
    return int(count or 0)
