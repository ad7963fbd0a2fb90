"""Inbound gateway webhooks: verified on the raw body, kept once per signed body, applied order-safely.

Each event is kept once by a hash of the raw body, which the gateway's signature covers; the gateway's event id
is only kept for reference (Razorpay's travels in an unsigned header, so a genuine delivery resent with a new id
must still be a redelivery). An event older than ``PayGuardConfig.gateway_webhook_max_age_seconds`` is refused.

A webhook never decides a payment by itself: it makes the payment due now, and a worker asks the gateway where
it stands and records the answer through the one processing path (with the fulfilment hook). So a late ``failed`` never
overwrites ``succeeded`` (a final payment ignores it), and a customer who paid and closed the tab before the
client reported it still gets the payment completed. Refund events apply directly; one that arrives before its
payment's success waits (``deferred``) and is applied in the transaction that records the success.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import uuid4

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from litestar_payguard.exceptions import InvalidRequestError, NotFoundError, PayGuardError
from litestar_payguard.gateways import GatewayWebhook, WebhookKind
from litestar_payguard.models import (
    CLOSED_UNPAID,
    CODE_LENGTH,
    OPEN_PAYMENT_STATUSES,
    REFUNDABLE_PAYMENT_STATUSES,
    TEXT_LENGTH,
    GatewayEvent,
    Payment,
    PaymentMode,
    PaymentStatus,
)
from litestar_payguard.services.gateway_modes import verify_webhook
from litestar_payguard.services.payments import PaymentService
from litestar_payguard.services.refunds import apply_refund_event

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.services.dispatch import Dispatcher

__all__ = (
    "GatewayNotFoundError",
    "GatewayWebhookService",
    "InvalidEventIdError",
    "WebhookReceipt",
    "WebhookTooOldError",
)

_PAYMENT_KINDS = frozenset({WebhookKind.PAYMENT_SUCCEEDED, WebhookKind.PAYMENT_AUTHORIZED, WebhookKind.PAYMENT_FAILED})
_MONEY_KINDS = frozenset({WebhookKind.PAYMENT_SUCCEEDED, WebhookKind.PAYMENT_AUTHORIZED})
"""News that money moved, or is waiting to be captured."""
_INSTANT = timedelta(microseconds=1)
"""Postgres keeps microseconds: the smallest step of a stored time."""
_PAID = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})
_REFUND_KINDS = frozenset({WebhookKind.REFUND_SUCCEEDED, WebhookKind.REFUND_FAILED})
_EVENT_ID_LENGTH = 255
"""The event id's column; a gateway's ids are far shorter."""
_EVENT_ID = re.compile(rf"[!-~]{{1,{_EVENT_ID_LENGTH}}}")
"""Visible ASCII, no spaces: what gateways' ids are made of."""


class GatewayNotFoundError(NotFoundError):
    """No gateway of this name is configured."""

    code = "GATEWAY_NOT_FOUND"
    title = "Gateway not found"


class InvalidEventIdError(PayGuardError):
    """The webhook's event id is not one a gateway gives (empty, too long, or not visible ASCII)."""

    status_code = 400
    code = "INVALID_EVENT_ID"
    title = "Invalid event id"


class WebhookTooOldError(InvalidRequestError):
    """The event was created longer ago than the configured window: a replay, not a delivery."""

    code = "WEBHOOK_TOO_OLD"
    title = "Webhook too old"


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """What became of an inbound webhook."""

    event_id: str
    duplicate: bool
    outcome: str


class GatewayWebhookService:
    """Receives the configured gateways' webhooks (test and live).

    Args:
        db: The request's database session (flushed, never committed).
        config: payguard's configuration.
        dispatcher: Enqueues the processing of payments the webhook made due.
    """

    __slots__ = ("_config", "_db", "_dispatcher")

    def __init__(self, db: AsyncSession, config: PayGuardConfig, dispatcher: Dispatcher | None = None) -> None:
        self._db = db
        self._config = config
        self._dispatcher = dispatcher

    async def receive(self, gateway_name: str, headers: Mapping[str, str], body: bytes) -> WebhookReceipt:
        """Verify, deduplicate and apply one webhook.

        The signature tells which configured gateway of the name (test or live) sent it: only payments of that
        mode are looked at.

        Raises:
            GatewayNotFoundError: No configured gateway (test or live) has the name ``gateway_name``.
            InvalidSignatureError: The signature does not verify (nothing is stored).
            InvalidEventIdError: The event id is empty, too long or not visible ASCII (nothing is stored).
            WebhookTooOldError: The event is older than the configured window (nothing is stored).
        """
        verified = verify_webhook(self._config, gateway_name, headers, body)
        if verified is None:
            msg = f"No gateway {gateway_name!r} is configured."
            raise GatewayNotFoundError(msg)
        modes, webhook = verified
        now = self._config.clock.now()
        self._check(webhook, now)
        event = GatewayEvent(
            id=uuid4(),
            gateway=gateway_name,
            event_id=webhook.event_id,
            body_sha256=_signed_digest(modes, body),
            event_type=webhook.event_type[:CODE_LENGTH],
            kind=webhook.kind.value,
            payment_id=None,
            gateway_payment_id=webhook.gateway_payment_id,
            gateway_order_id=webhook.gateway_order_id,
            gateway_refund_id=webhook.gateway_refund_id,
            refund_receipt=webhook.refund_receipt,
            amount=webhook.amount,
            failure_code=(webhook.failure_code or None) and webhook.failure_code[:CODE_LENGTH],
            failure_message=(webhook.failure_message or None) and webhook.failure_message[:TEXT_LENGTH],
            received_at=now,
            outcome="ignored",
        )
        try:
            async with self._db.begin_nested():
                self._db.add(event)
        except IntegrityError:  # this very body came before (or is being received right now), whatever its id
            return WebhookReceipt(event_id=webhook.event_id, duplicate=True, outcome="duplicate")
        await self._apply(event, webhook, modes, now)
        await self._db.flush()
        return WebhookReceipt(event_id=webhook.event_id, duplicate=False, outcome=event.outcome)

    def _check(self, webhook: GatewayWebhook, now: datetime) -> None:
        """Refuse an event id payguard would not store as sent, and an event past the replay window."""
        if not _EVENT_ID.fullmatch(webhook.event_id):
            msg = f"The event id must be 1 to {_EVENT_ID_LENGTH} visible ASCII characters."
            raise InvalidEventIdError(msg)
        window = self._config.gateway_webhook_max_age_seconds
        if webhook.created_at is not None and (now - webhook.created_at).total_seconds() > window:
            msg = f"The event was created at {webhook.created_at.isoformat()}, more than {window:g} seconds ago."
            raise WebhookTooOldError(msg, extra={"maxAgeSeconds": window})

    async def _payment(self, gateway_name: str, modes: list[PaymentMode], webhook: GatewayWebhook) -> Payment | None:
        refs = []
        if webhook.gateway_payment_id:
            refs.append(Payment.gateway_payment_id == webhook.gateway_payment_id)
        if webhook.gateway_order_id:
            refs.append(Payment.gateway_order_id == webhook.gateway_order_id)
        if not refs:
            return None
        payment: Payment | None = await self._db.scalar(
            select(Payment)
            .where(Payment.gateway == gateway_name, Payment.mode.in_(modes), or_(*refs))
            .order_by(Payment.created_at.desc())
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return payment

    async def _apply(
        self, event: GatewayEvent, webhook: GatewayWebhook, modes: list[PaymentMode], now: datetime
    ) -> None:
        if webhook.kind not in _PAYMENT_KINDS | _REFUND_KINDS:
            event.applied_at = now
            return
        payment = await self._payment(event.gateway, modes, webhook)
        if payment is None:
            event.outcome = "unknown"
            event.applied_at = now
            return
        event.payment_id = payment.id
        if webhook.kind in _PAYMENT_KINDS:
            self._payment_news(event, payment, webhook, now)
            return
        if payment.status in REFUNDABLE_PAYMENT_STATUSES or payment.status is PaymentStatus.REFUNDED:
            # Refunded in full: our own refund's event is stale, any other refund needs a person.
            await apply_refund_event(self._db, self._config, event, payment, now)
        elif payment.status in OPEN_PAYMENT_STATUSES:  # the refund came before its payment's own success: it waits
            event.outcome = "deferred"
            if not payment.needs_attention:
                # Money was captured: record the payment now. Changing its row also tells a worker recording it
                # right now, waiting for this lock, that there is an event to apply (fast_path_sql.RECORD_FINAL).
                self._make_due(payment, webhook, now)
        else:  # closed with no money kept: money captured after the close went back (a person, or the gateway)
            event.outcome = "stale"
            event.applied_at = now

    def _payment_news(self, event: GatewayEvent, payment: Payment, webhook: GatewayWebhook, now: datetime) -> None:
        event.applied_at = now
        if payment.needs_attention and webhook.kind in _MONEY_KINDS:
            # A person decides this payment: the gateway's news goes to them with it, never dropped.
            ref = webhook.gateway_payment_id or "a payment"
            news = f"; then the gateway reported {webhook.event_type} for {ref}"[:200]
            payment.attention_reason = (payment.attention_reason or "")[: TEXT_LENGTH - len(news)] + news
            event.outcome = "attention"
            return
        if payment.status not in OPEN_PAYMENT_STATUSES or payment.needs_attention:
            event.outcome = "stale"  # a final payment stays as it is: a late "failed" never undoes a success
            reason = _unexpected_capture_reason(payment, webhook)
            if reason is not None:
                PaymentService(self._db, self._config).flag(payment, reason, now)
                event.outcome = "attention"
            return
        if webhook.kind is WebhookKind.PAYMENT_FAILED and payment.status is PaymentStatus.PENDING:
            # A declined try in the gateway's checkout: the customer may try again on the same order right now.
            # Only a success ends the checkout early; otherwise its own deadlines do.
            event.outcome = "ignored"
            return
        event.outcome = "queued"
        self._make_due(payment, webhook, now)

    def _make_due(self, payment: Payment, webhook: GatewayWebhook, now: datetime) -> None:
        """Hand the open payment to a worker now, to record it from the gateway's answer."""
        if payment.gateway_payment_id is None and webhook.gateway_payment_id:
            payment.gateway_payment_id = webhook.gateway_payment_id
        # Due now, even if a worker holds it: recording twice is harmless (a final payment ignores the second),
        # and the news may end a wait (a retry, a poll) early. Always a new value, even when the lease ends at
        # this very instant: a worker's recording statement sees the change and leaves the payment to the ORM
        # path, which applies a deferred event (fast_path_sql.RECORD_FINAL).
        payment.process_at = now if payment.process_at != now else now - _INSTANT
        if payment.status is PaymentStatus.PENDING and payment.processing_started_at is None:
            payment.processing_started_at = now
        if self._dispatcher is not None:
            self._dispatcher.payment_after_commit(self._db, payment.id, now)


def _signed_digest(modes: list[PaymentMode], body: bytes) -> str:
    """What deduplicates an event: the raw body the signature covers, and whose secret signed it.

    The modes are part of it because the test and the live account of one gateway are two senders: the same
    bytes from each would be two events. A replay cannot change which secret verifies a body.
    """
    digest = hashlib.sha256(",".join(sorted(mode.value for mode in modes)).encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


def _unexpected_capture_reason(payment: Payment, webhook: GatewayWebhook) -> str | None:
    """Money captured that payguard did not expect: for a payment it closed, or a second one on a paid order."""
    if webhook.kind is not WebhookKind.PAYMENT_SUCCEEDED:
        return None
    ref = webhook.gateway_payment_id or "a payment"
    if payment.status in CLOSED_UNPAID:
        return (
            f"the gateway captured {ref} for this payment after payguard closed it as {payment.status.value}: "
            "refund it at the gateway or fulfil it by hand"
        )
    if (
        payment.status in _PAID
        and webhook.gateway_payment_id
        and webhook.gateway_payment_id != payment.gateway_payment_id
    ):
        return f"the gateway captured a second payment, {ref}, for this paid order: refund one of them"
    return None
