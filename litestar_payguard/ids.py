"""Ids as clients send them."""

from __future__ import annotations

from uuid import UUID

__all__ = ("as_uuid",)


def as_uuid(value: str | UUID) -> UUID | None:
    """Parse an id from a path; a string that is no UUID names nothing (the caller answers 404)."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value)
    except ValueError:
        return None
