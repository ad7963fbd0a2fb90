"""The merchant API's events and event types, authenticated with ``X-Api-Key`` / ``X-Api-Secret``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas.base import whole
from litestar_payguard.schemas.webhooks import Event, EventPage, EventTypeList
from litestar_payguard.services.paging import InvalidCursorError
from litestar_payguard.services.webhooks import EventFilter, EventNotFoundError, EventService

__all__ = ("EventController", "EventTypeController")


class EventTypeController(Controller):
    """The types of event payguard sends."""

    path = "/v1/event-types"
    tags = ["payguard: merchant API"]

    @get("/", operation_id="payguardListEventTypes")
    async def list_event_types(self, payguard_events: NamedDependency[EventService]) -> EventTypeList:
        """Every type payguard sends to merchants, with a description and an example of its ``data``."""
        return payguard_events.event_types()


class EventController(Controller):
    """The state changes of the merchant's resources, as their webhooks carry them."""

    path = "/v1/events"
    tags = ["payguard: merchant API"]

    @get("/", operation_id="payguardListEvents", responses=problem_responses(InvalidCursorError))
    async def list_events(
        self,
        *,
        payguard_events: NamedDependency[EventService],
        type: Annotated[  # noqa: A002  # the query's name
            str | None, QueryParameter(max_length=64, pattern=whole(r"[a-z_]+(\.[a-z_]+|\.\*)"))
        ] = None,
        created_from: Annotated[datetime | None, QueryParameter(name="createdFrom")] = None,
        created_to: Annotated[datetime | None, QueryParameter(name="createdTo")] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> EventPage:
        """The merchant's events, newest first, filtered by type (or ``refund.*``) and time of creation."""
        where = EventFilter(type=type, created_from=created_from, created_to=created_to)
        return await payguard_events.list(where, limit=limit, cursor=cursor)

    @get("/{event_id:str}", operation_id="payguardGetEvent", responses=problem_responses(EventNotFoundError))
    async def get_event(self, event_id: FromPath[str], payguard_events: NamedDependency[EventService]) -> Event:
        """One event, with the snapshot of its resource stored when it happened."""
        return await payguard_events.get(event_id)
