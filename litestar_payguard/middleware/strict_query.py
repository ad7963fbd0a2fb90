"""Strict query parameters on payguard's routes.

Litestar converts query strings leniently: ``?limit=1e2`` becomes 100, ``?createdTo=0.5`` half a second after
the epoch, and of ``?limit=1&limit=2`` the last one wins. A listing filtered by something other than what the
client meant is wrong in silence, so payguard's routes refuse these: numbers are decimal integers,
date-times are RFC 3339 with an offset, a single-valued parameter comes at most once, and a parameter the route
does not take (a misspelt ``?customer_id=`` would list everyone's payments) is refused rather than ignored.
"""

from __future__ import annotations

import re
import types
from datetime import datetime
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from litestar_payguard.exceptions import PayGuardError, ValidationFailedError
from litestar_payguard.wire_names import query_parameters

if TYPE_CHECKING:
    from litestar import Request

__all__ = ("QueryParameterRepeatedError", "QueryParameterUnknownError", "check_query")

_INTEGER = re.compile(r"-?[0-9]+")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_FORMS: dict[type, tuple[re.Pattern[str], str]] = {
    int: (_INTEGER, "Expected a decimal integer"),
    datetime: (_RFC3339, "Expected an RFC 3339 date-time with an offset (2026-03-01T12:00:00Z); encode '+' as %2B"),
}


class QueryParameterRepeatedError(PayGuardError):
    """A query parameter that takes one value was given several."""

    status_code = 400
    code = "QUERY_PARAMETER_REPEATED"
    title = "Query parameter repeated"


class QueryParameterUnknownError(PayGuardError):
    """A query parameter the route does not take (``allowed`` lists those it does)."""

    status_code = 400
    code = "QUERY_PARAMETER_UNKNOWN"
    title = "Unknown query parameter"


def check_query(request: Request[Any, Any, Any]) -> None:
    """Refuse query parameters that only a lenient conversion would accept, and ones the route does not take.

    Raises:
        QueryParameterUnknownError: A parameter the route does not take.
        QueryParameterRepeatedError: A single-valued parameter given more than once.
        ValidationFailedError: A number or date-time not in its strict form.
    """
    query = request.query_params
    parameters = list(query_parameters(request.route_handler))
    allowed = sorted(wire for wire, _ in parameters)
    unknown = sorted(set(query.keys()) - set(allowed))
    if unknown:
        takes = f"it takes {', '.join(allowed)}" if allowed else "it takes none"
        msg = f"This route does not take the query parameter {unknown[0]!r}: {takes}."
        raise QueryParameterUnknownError(msg, extra={"parameters": unknown, "allowed": allowed})
    errors = []
    for wire, annotation in parameters:
        values = query.getall(wire, [])
        scalar = _scalar(annotation)
        if scalar is None or not values:
            continue
        if len(values) > 1:
            msg = f"Give the query parameter {wire!r} once, not {len(values)} times."
            raise QueryParameterRepeatedError(msg, extra={"parameter": wire})
        form = _FORMS.get(scalar)
        if form is not None and not form[0].fullmatch(values[0]):
            errors.append({"field": wire, "source": "query", "message": form[1]})
    if errors:
        msg = "The request does not match the expected schema."
        raise ValidationFailedError(msg, extra={"errors": errors})


def _scalar(annotation: Any) -> type | None:
    """The single-value type of a parameter (``None`` for a list, which may repeat)."""
    if get_origin(annotation) in {Union, types.UnionType}:
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        annotation = members[0] if len(members) == 1 else None
    if not isinstance(annotation, type) or issubclass(annotation, list | tuple | set | frozenset):
        return None
    return next((kind for kind in _FORMS if issubclass(annotation, kind) and annotation is not bool), annotation)
