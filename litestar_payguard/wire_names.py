"""The names clients use for a handler's query parameters: camelCase as declared, not the Python names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.params import ParameterKwarg, QueryParameter

if TYPE_CHECKING:
    from collections.abc import Iterator

    from litestar.handlers import BaseRouteHandler

__all__ = ("query_parameters", "wire_name")


def query_parameters(handler: BaseRouteHandler) -> Iterator[tuple[str, Any]]:
    """The handler's query parameters declared with ``QueryParameter``: ``(wire name, annotation)``."""
    for name, field in handler.parsed_fn_signature.parameters.items():
        if isinstance(field.kwarg_definition, QueryParameter):
            yield wire_name(handler, name), field.annotation


def wire_name(handler: BaseRouteHandler | None, name: str) -> str:
    """The name a client gives the handler's parameter ``name`` (its ``QueryParameter(name=…)``, say)."""
    field = handler.parsed_fn_signature.parameters.get(name) if handler is not None else None
    kwarg = field.kwarg_definition if field is not None else None
    if isinstance(kwarg, ParameterKwarg):
        return kwarg.name or kwarg.query or kwarg.header or kwarg.cookie or name
    return name
