"""Taking deliveries for attempts: each checked, leased, and read into an :class:`~.outcome.Attempt`.

A delivery is taken when it is due and still wanted, and its endpoint has an attempt free: at most
``webhook_max_in_flight_per_endpoint`` attempts of one endpoint are in flight (its row is locked while they are
counted). Taking leases the delivery for the attempt's timeout plus a margin (``webhook_lease_seconds``): a worker
that dies mid-attempt leaves a lease that runs out, and the sweeper hands the delivery out again. A signing secret
the configured key cannot open is taken all the same (the attempt then fails without sending anything, on the
schedule like any failure), so a deployment with the wrong key keeps its deliveries to recover once it is fixed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from litestar_payguard.exceptions import WebhookSecretUnreadableError
from litestar_payguard.models import AttemptTrigger, DeliveryStatus, Merchant, OutboxEvent
from litestar_payguard.services.webhooks.outbound.due import in_flight, lock_due
from litestar_payguard.services.webhooks.outbound.endpoint_state import cancel_pending_deliveries
from litestar_payguard.services.webhooks.outbound.outcome import Attempt, Step, lock_delivery
from litestar_payguard.services.webhooks.outbound.payload import delivery_body

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.models import WebhookDelivery, WebhookEndpoint
    from litestar_payguard.services.webhooks.outbound.secret_box import SecretBox

__all__ = ("BUSY_RETRY", "AttemptTaker", "Taken")

_logger = logging.getLogger("litestar_payguard")

BUSY_RETRY = timedelta(seconds=1)
"""How soon a delivery is tried again when its endpoint already has the most attempts in flight."""


@dataclass(frozen=True, slots=True)
class Taken:
    """Deliveries taken together for an attempt each.

    Attributes:
        attempts: Their attempts.
        more_due: Whether the endpoint may have more due: every free attempt it had was filled.
    """

    attempts: list[Attempt]
    more_due: bool


class AttemptTaker:
    """Takes deliveries for attempts, in the caller's transaction (the caller commits).

    Args:
        config: payguard's configuration.
        box: Opens the endpoints' sealed signing secrets.
    """

    __slots__ = ("_box", "_config")

    def __init__(self, config: PayGuardConfig, box: SecretBox) -> None:
        self._config = config
        self._box = box

    async def take(self, db: AsyncSession, delivery_id: UUID, *, manual: bool, more: bool) -> Taken | Step:
        """Take the delivery (``more``: and the endpoint's other due ones, in its free attempts), or say why not.

        ``manual`` takes it now, outside the schedule. A busy endpoint puts a single delivery off by
        ``BUSY_RETRY``; with ``more`` the delivery is left due, with no time to look again: the run holding the
        endpoint's attempts takes it, or hands it on when it stops, and the sweep hands out a due delivery nobody
        holds. (Looking again a second later made a chain of jobs per sweep behind a long backlog: each sweep
        handed out the backlog's new first delivery, and each of those jobs came back every second until the
        backlog reached it.)
        """
        now = self._config.clock.now()
        locked = await lock_delivery(db, delivery_id)
        if locked is None:
            return Step(None)
        delivery, endpoint = locked
        if (why_not := _not_now(delivery, now, manual=manual)) is not None:
            return why_not
        if not endpoint.enabled or endpoint.deleted_at is not None:  # its other due ones have no job of their own
            delivery.status, delivery.next_attempt_at = DeliveryStatus.CANCELLED, None
            await cancel_pending_deliveries(db, endpoint.id)
            return Step(DeliveryStatus.CANCELLED)
        free = self._config.webhook_max_in_flight_per_endpoint - await in_flight(db, endpoint.id, now)
        if free <= 0:
            if more:
                return Step(DeliveryStatus.PENDING)
            delivery.next_attempt_at = now + BUSY_RETRY
            return Step(DeliveryStatus.PENDING, now + BUSY_RETRY)
        others = await lock_due(db, endpoint.id, now, free - 1, besides=delivery.id) if more else []
        attempts = await self._lease(db, [delivery, *others], endpoint, manual=manual)
        return Taken(attempts, more_due=more and len(others) == free - 1)

    async def take_more(self, db: AsyncSession, endpoint: WebhookEndpoint, *, test_mode: bool) -> Taken:
        """Take the endpoint's due deliveries in its free attempts (the caller has locked the endpoint).

        ``test_mode``: the merchant's, as the run's first attempts read it.
        """
        if not endpoint.enabled or endpoint.deleted_at is not None:  # as take() finds it: nothing more for it
            await cancel_pending_deliveries(db, endpoint.id)
            return Taken([], more_due=False)
        now = self._config.clock.now()
        free = self._config.webhook_max_in_flight_per_endpoint - await in_flight(db, endpoint.id, now)
        deliveries = await lock_due(db, endpoint.id, now, free)
        if not deliveries:  # none due, or every attempt is another run's (it goes on with the rest)
            return Taken([], more_due=False)
        attempts = await self._lease(db, deliveries, endpoint, manual=False, test_mode=test_mode)
        return Taken(attempts, more_due=len(deliveries) == free)

    async def _lease(
        self,
        db: AsyncSession,
        deliveries: list[WebhookDelivery],
        endpoint: WebhookEndpoint,
        *,
        manual: bool,
        test_mode: bool | None = None,
    ) -> list[Attempt]:
        """Lease the deliveries (all of ``endpoint``) for one attempt each, and read what the attempts send."""
        now = self._config.clock.now()
        rows = await db.scalars(select(OutboxEvent).where(OutboxEvent.id.in_({d.event_id for d in deliveries})))
        events = {event.id: event for event in rows}
        if test_mode is None:
            test_mode = bool(await db.scalar(select(Merchant.test_mode).where(Merchant.id == endpoint.merchant_id)))
        secrets, unreadable = self.secrets(
            endpoint.id, endpoint.secret, endpoint.previous_secret, endpoint.previous_secret_expires_at, now
        )
        lease_until = now + timedelta(seconds=self._config.webhook_lease_seconds)
        events_url, max_bytes = f"{self._config.path}/v1/events", self._config.webhook_max_body_bytes
        taken = []
        for delivery in deliveries:
            delivery.attempts += 1
            delivery.lease_until, delivery.last_attempt_at = lease_until, now
            trigger = AttemptTrigger.MANUAL if manual or delivery.manual_retry else AttemptTrigger.SCHEDULED
            delivery.manual_retry = False
            taken.append(
                Attempt(
                    delivery_id=delivery.id,
                    endpoint_id=endpoint.id,
                    event_id=delivery.event_id,
                    number=delivery.attempts,
                    trigger=trigger,
                    lease_until=lease_until,
                    url=endpoint.url,
                    test_mode=test_mode,
                    body=delivery_body(events[delivery.event_id], events_url=events_url, max_bytes=max_bytes),
                    secrets=secrets,
                    unreadable=unreadable,
                    trace_context=events[delivery.event_id].trace_context,
                )
            )
        return taken

    def secrets(
        self, endpoint_id: UUID, sealed: str, previous: str | None, previous_expires_at: datetime | None, now: datetime
    ) -> tuple[tuple[str, ...], str | None]:
        """The endpoint's valid secrets and ``None``, or no secret and why they cannot be opened.

        The valid ones: the current secret (``sealed``), and the ``previous`` one until its grace ends.
        """
        try:
            current = self._box.unseal(sealed, context=str(endpoint_id))
            if previous is None or previous_expires_at is None or previous_expires_at <= now:
                return (current,), None
            return (current, self._box.unseal(previous, context=str(endpoint_id))), None
        except WebhookSecretUnreadableError as exc:
            _logger.error("payguard: webhook endpoint %s: %s; nothing is sent to it", endpoint_id, exc.detail)
            return (), exc.detail


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
