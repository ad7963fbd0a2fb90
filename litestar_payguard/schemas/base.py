"""Base structs: camelCase on the wire, strict input."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from litestar_payguard.exceptions import ValidationFailedError

__all__ = ("CamelStruct", "InputStruct", "error_field", "validated")

_ERROR_PATH = re.compile(r"`\$\.([A-Za-z0-9_]+)")
S = TypeVar("S", bound=msgspec.Struct)


class CamelStruct(msgspec.Struct, rename="camel", kw_only=True):
    """A response schema, encoded with camelCase member names."""


class InputStruct(CamelStruct, forbid_unknown_fields=True):
    """A request body: unknown members are rejected rather than silently ignored."""


def error_field(error: msgspec.ValidationError) -> str | None:
    """Return the top-level member a msgspec validation error is about (``None`` for the whole document)."""
    match = _ERROR_PATH.search(str(error))
    return match.group(1) if match and match.group(1) else None


def validated(data: S) -> S:
    """Check a struct against its type's constraints; structs built in code skip them otherwise.

    Raises:
        ValidationFailedError: A value breaks its constraint.
    """
    try:
        return msgspec.convert(msgspec.to_builtins(data), type(data))
    except msgspec.ValidationError as exc:
        message = str(exc).split(" - at ")[0]
        raise ValidationFailedError(
            "The input does not match the expected schema.",
            extra={"errors": [{"field": error_field(exc), "source": "body", "message": message}]},
        ) from exc
