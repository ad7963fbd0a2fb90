"""What the dashboard's handlers share: the page renderer bound to the mount, forms, redirects, query filters."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from litestar_payguard.exceptions import ValidationFailedError
from litestar_payguard.identity import PRINCIPAL_STATE_KEY
from litestar_payguard.ids import as_uuid
from litestar_payguard.pages.dashboard import dashboard_url, render_dashboard
from litestar_payguard.principal import Principal
from litestar_payguard.runtime import PayGuard

__all__ = (
    "PAGE_SIZE",
    "Form",
    "done",
    "enum_or_none",
    "form_struct",
    "listed",
    "next_url",
    "page",
    "principal_of",
    "text_or_none",
    "uuid_or_none",
)

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
"""A posted form: its fields by name (the CSRF middleware has checked ``_csrf_token`` already)."""
PAGE_SIZE = 25
"""Rows per page of a list."""
E = TypeVar("E", bound=Enum)
S = TypeVar("S", bound=msgspec.Struct)


def page(request: Request[Any, Any, Any], payguard: PayGuard, template: str, **context: Any) -> Response[str]:
    """Render ``template`` for the dashboard of this payguard."""
    return render_dashboard(request, payguard.config.path, template, **context)


def done(payguard: PayGuard, where: str, notice: str) -> Redirect:
    """After a form: back to a page of the dashboard (303, so a reload does not post again), with a notice."""
    return Redirect(f"{dashboard_url(payguard.config.path)}{where}?{urlencode({'done': notice})}", status_code=303)


def next_url(base: str, filters: dict[str, str]) -> str:
    """The URL of a list's next page, keeping its filters (the cursor is appended)."""
    kept = urlencode({name: value for name, value in filters.items() if value})
    return f"{base}?{kept}&" if kept else f"{base}?"


def text_or_none(value: str | None) -> str | None:
    """A form's or query's text, ``None`` when blank."""
    value = (value or "").strip()
    return value or None


def enum_or_none(kind: type[E], value: str | None, name: str) -> E | None:
    """A query's value of an enum, ``None`` when blank.

    Raises:
        ValidationFailedError: Not one of the enum's values.
    """
    text = text_or_none(value)
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError as exc:
        msg = f"{name} {text!r} is not one of the known values."
        raise ValidationFailedError(msg) from exc


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    """The principal a dashboard route's service was made for (resolved once per request, by that service)."""
    principal: Principal = request.state[PRINCIPAL_STATE_KEY]
    return principal


def uuid_or_none(value: str | None, name: str) -> UUID | None:
    """A query's id, ``None`` when blank.

    Raises:
        ValidationFailedError: Not an id.
    """
    text = text_or_none(value)
    if text is None:
        return None
    found = as_uuid(text)
    if found is None:
        msg = f"{name} {text!r} is not an id."
        raise ValidationFailedError(msg)
    return found


def form_struct(kind: type[S], values: dict[str, Any]) -> S:
    """A service's input struct from a form's fields (camelCase names), checked against its constraints.

    Raises:
        ValidationFailedError: A field breaks its constraint; the message names it.
    """
    try:
        return msgspec.convert(values, kind)
    except msgspec.ValidationError as exc:
        msg = f"The form is not valid: {exc}."
        raise ValidationFailedError(msg) from exc


def listed(value: str | None) -> list[str] | None:
    """A comma-separated field as a list; ``None`` when blank (every type)."""
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    return items or None
