"""The RFC 9457 problem document every error of payguard's routes is, as the OpenAPI document describes it."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from litestar_payguard.schemas.base import CamelStruct

__all__ = ("ProblemAction", "ProblemDetails", "ProblemFieldError")


class ProblemAction(CamelStruct):
    """A way out: an HTTP call the client may make next."""

    method: str
    url: str
    label: str


class ProblemFieldError(CamelStruct):
    """One member of the request that was refused."""

    field: str | None
    """Its wire name (``bundleId``, ``limit``); ``null`` for the whole body."""
    source: str | None
    """``body``, ``query``, ``path`` or ``header``."""
    message: str


class ProblemDetails(CamelStruct):
    """An RFC 9457 problem document (``application/problem+json``).

    ``code`` is stable and machine-readable; ``actions`` lists the ways out where there are some; ``errors`` says
    what was wrong with the input. Some problems carry more members (``price`` with ``PRICE_CHANGED``, ``maximum``
    with ``AMOUNT_TOO_LARGE``…).
    """

    type: str
    """``urn:payguard:problem:<code in kebab case>``."""
    title: str
    status: Annotated[int, Meta(ge=400, le=599)]
    detail: str
    code: str
    instance: str | UnsetType = UNSET
    """The path of the request."""
    actions: dict[str, ProblemAction] | UnsetType = UNSET
    errors: list[ProblemFieldError] | UnsetType = UNSET
