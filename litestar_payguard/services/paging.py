"""Cursor pagination of the webhooks API: newest first, by creation time then id."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import and_, or_

from litestar_payguard.exceptions import ValidationFailedError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Select
    from sqlalchemy.orm import InstrumentedAttribute

__all__ = ("InvalidCursorError", "Paged", "check_offsets", "encode_cursor", "page_after", "split_page")


class InvalidCursorError(ValidationFailedError):
    """The pagination cursor is not one this API gave out."""

    code = "INVALID_CURSOR"
    title = "Invalid cursor"


class Paged(Protocol):
    """A row a list pages through: newest first, by creation time then id."""

    @property
    def created_at(self) -> datetime:
        """When the row was created: the first key of the order."""
        ...

    @property
    def id(self) -> UUID:
        """The row's id: the second key of the order."""
        ...


R = TypeVar("R", bound=Paged)


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    """The cursor of the page after the row created at ``created_at`` with id ``row_id``."""
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, row_id = raw.partition("|")
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError(created)
        return at, UUID(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        msg = "The cursor is not one this API gave out: pass nextCursor from the previous page."
        raise InvalidCursorError(msg, extra={"field": "cursor"}) from exc


def check_offsets(**times: datetime | None) -> None:
    """Refuse a time of a filter without its UTC offset (it would be read in the server's zone).

    Raises:
        ValidationFailedError: ``times`` names (their query names) a naive time.
    """
    for name, value in times.items():
        if value is not None and value.tzinfo is None:
            msg = f"{name} needs a UTC offset (2026-03-01T12:00:00Z)."
            raise ValidationFailedError(msg, extra={"errors": [{"field": name, "source": "query", "message": msg}]})


def page_after(
    statement: Select[Any],
    created: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[UUID],
    *,
    cursor: str | None,
    limit: int,
) -> Select[Any]:
    """``statement`` ordered newest first, after ``cursor``, one row past ``limit`` (to know whether more follow).

    Raises:
        InvalidCursorError: A cursor this API did not give out.
    """
    if cursor is not None:
        after_created, after_id = _decode_cursor(cursor)
        statement = statement.where(or_(created < after_created, and_(created == after_created, row_id < after_id)))
    return statement.order_by(created.desc(), row_id.desc()).limit(limit + 1)


def split_page(rows: Sequence[R], limit: int) -> tuple[list[R], str | None]:
    """The rows of one page, from what :func:`page_after` fetched (one past ``limit``), and the next page's cursor.

    The cursor is ``None`` on the last page.
    """
    page = list(rows[:limit])
    return page, encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
