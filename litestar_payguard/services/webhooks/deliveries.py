"""The merchant's delivery log, and the ways to send again: a manual retry, a recovery, a test event.

A manual attempt (``retry``, and each delivery a recovery queues) is made at once, outside the schedule; when it
fails, it is not retried by itself. A test sends a ``webhook.test`` event to one endpoint, whatever its filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from sqlalchemy import Select, select

from litestar_payguard.exceptions import ConflictError, NotFoundError, ValidationFailedError
from litestar_payguard.ids import as_uuid
from litestar_payguard.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from litestar_payguard.schemas.webhook_deliveries import (
    TestSent,
    WebhookDeliveryDetail,
    WebhookDeliveryPage,
    attempt_view,
    delivery_view,
)
from litestar_payguard.schemas.webhooks import WebhookTest
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.services.paging import check_offsets, page_after, split_page
from litestar_payguard.services.scoped import MerchantScoped
from litestar_payguard.services.webhooks.event_types import TEST_EVENT
from litestar_payguard.services.webhooks.registry import WebhookEndpointService

if TYPE_CHECKING:
    from datetime import datetime


__all__ = ("DeliveryFilter", "DeliveryNotFoundError", "DeliveryNotRetryableError", "WebhookDeliveryService")


class DeliveryNotFoundError(NotFoundError):
    """No such delivery of this merchant."""

    code = "WEBHOOK_DELIVERY_NOT_FOUND"
    title = "Webhook delivery not found"


class DeliveryNotRetryableError(ConflictError):
    """A delivery that was delivered, or cancelled with its endpoint, is not sent again."""

    code = "WEBHOOK_DELIVERY_NOT_RETRYABLE"
    title = "Webhook delivery cannot be retried"


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """What a list of deliveries is narrowed to."""

    endpoint_id: UUID | None = None
    event_id: UUID | None = None
    event_type: str | None = None
    status: DeliveryStatus | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class WebhookDeliveryService(MerchantScoped):
    """A merchant's webhook deliveries."""

    __slots__ = ()

    def _mine(self) -> Select[tuple[WebhookDelivery]]:
        """The merchant's deliveries (through their endpoints)."""
        return (
            select(WebhookDelivery)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookEndpoint.merchant_id == self._merchant_id)
        )

    async def list(self, where: DeliveryFilter, *, limit: int, cursor: str | None = None) -> WebhookDeliveryPage:
        """A page of the merchant's deliveries, newest first, after ``cursor``.

        Raises:
            ValidationFailedError: A time of the filter without its UTC offset.
            InvalidCursorError: A cursor this API did not give out.
        """
        check_offsets(createdFrom=where.created_from, createdTo=where.created_to)
        statement = self._mine()
        for column, value in (
            (WebhookDelivery.endpoint_id, where.endpoint_id),
            (WebhookDelivery.event_id, where.event_id),
            (WebhookDelivery.event_type, where.event_type),
            (WebhookDelivery.status, where.status),
        ):
            if value is not None:
                statement = statement.where(column == value)
        if where.created_from is not None:
            statement = statement.where(WebhookDelivery.created_at >= where.created_from)
        if where.created_to is not None:
            statement = statement.where(WebhookDelivery.created_at < where.created_to)
        rows = list(
            await self._db.scalars(
                page_after(statement, WebhookDelivery.created_at, WebhookDelivery.id, cursor=cursor, limit=limit)
            )
        )
        page, next_cursor = split_page(rows, limit)
        return WebhookDeliveryPage(
            items=[delivery_view(delivery) for delivery in page], limit=limit, next_cursor=next_cursor
        )

    async def get(self, delivery_id: str | UUID, *, lock: bool = False) -> WebhookDelivery:
        """The merchant's delivery.

        Raises:
            DeliveryNotFoundError: No such delivery of this merchant.
        """
        key = as_uuid(delivery_id)
        statement = self._mine().where(WebhookDelivery.id == key)
        delivery: WebhookDelivery | None = None
        if key is not None:
            delivery = await self._db.scalar(statement.with_for_update(of=WebhookDelivery) if lock else statement)
        if delivery is None:
            msg = f"No webhook delivery {delivery_id}."
            raise DeliveryNotFoundError(msg)
        return delivery

    async def detail(self, delivery_id: str | UUID) -> WebhookDeliveryDetail:
        """The delivery with every attempt, first first.

        Raises:
            DeliveryNotFoundError: No such delivery of this merchant.
        """
        delivery = await self.get(delivery_id)
        attempts = await self._db.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id).order_by(WebhookAttempt.number)
        )
        view = delivery_view(delivery)
        fields = {name: getattr(view, name) for name in view.__struct_fields__}
        return WebhookDeliveryDetail(**fields, attempt_log=[attempt_view(attempt) for attempt in attempts])

    async def retry(self, delivery_id: str | UUID) -> WebhookDelivery:
        """Queue an attempt now, outside the schedule (not retried by itself if it fails).

        Raises:
            DeliveryNotFoundError: No such delivery of this merchant.
            DeliveryNotRetryableError: It was delivered, or cancelled with its endpoint.
        """
        delivery = await self.get(delivery_id, lock=True)
        if delivery.status not in {DeliveryStatus.PENDING, DeliveryStatus.FAILED}:
            msg = f"The delivery is {delivery.status.value}: it is not sent again."
            raise DeliveryNotRetryableError(msg, extra={"deliveryStatus": delivery.status.value})
        self._queue_manual(delivery)
        await self._db.flush()
        return delivery

    async def recover(self, endpoint_id: str | UUID, since: datetime, until: datetime | None) -> int:
        """Queue again, as manual attempts, every failed delivery of the endpoint created in ``[since, until)``.

        Raises:
            WebhookEndpointNotFoundError: No such endpoint of this merchant.
            ValidationFailedError: A time without its offset, or ``until`` not after ``since``.
        """
        check_offsets(since=since, until=until)
        if until is not None and until <= since:
            msg = "until must be after since."
            raise ValidationFailedError(msg, extra={"errors": [{"field": "until", "source": "body", "message": msg}]})
        endpoint = await self._endpoint(endpoint_id)
        statement = select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == DeliveryStatus.FAILED,
            WebhookDelivery.created_at >= since,
        )
        if until is not None:
            statement = statement.where(WebhookDelivery.created_at < until)
        failed = list(await self._db.scalars(statement.with_for_update()))
        for delivery in failed:
            self._queue_manual(delivery)
        await self._db.flush()
        return len(failed)

    async def send_test(self, endpoint_id: str | UUID) -> TestSent:
        """Write a ``webhook.test`` event for the endpoint and queue its delivery at once.

        Raises:
            WebhookEndpointNotFoundError: No such endpoint of this merchant.
        """
        endpoint = await self._endpoint(endpoint_id)
        now = self._config.clock.now()
        event = Outbox(self._db, self._config.clock).record(
            merchant_id=self._merchant_id,
            type=TEST_EVENT,
            subject_id=endpoint.id,
            payload=WebhookTest(endpoint_id=endpoint.id, message="A test event sent from the webhook endpoints API."),
            at=now,
        )
        event.id, event.fanned_out_at = uuid4(), now  # delivered to this endpoint only, not fanned out
        delivery = WebhookDelivery(
            id=uuid4(), endpoint_id=endpoint.id, event_id=event.id, event_type=TEST_EVENT, next_attempt_at=now
        )
        self._db.add(delivery)
        await self._db.flush()
        self._enqueue(delivery)
        return TestSent(event_id=event.id, delivery_id=delivery.id)

    async def _endpoint(self, endpoint_id: str | UUID) -> WebhookEndpoint:
        return await WebhookEndpointService(self._db, self._config, self._merchant_id).get(endpoint_id)

    def _queue_manual(self, delivery: WebhookDelivery) -> None:
        now = self._config.clock.now()
        delivery.status, delivery.next_attempt_at, delivery.manual_retry = DeliveryStatus.PENDING, now, True
        self._enqueue(delivery)

    def _enqueue(self, delivery: WebhookDelivery) -> None:
        if self._dispatcher is not None and delivery.next_attempt_at is not None:
            self._dispatcher.webhook_deliveries_after_commit(self._db, [(delivery.id, delivery.next_attempt_at)])
