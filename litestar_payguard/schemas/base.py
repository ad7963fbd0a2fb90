"""Base structs: camelCase on the wire, strict input."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from litestar_payguard.exceptions import ValidationFailedError

__all__ = ("CamelStruct", "InputStruct", "error_field", "error_message", "validated", "whole")


def whole(body: str) -> str:
    """A schema pattern that the whole value must match.

    msgspec matches patterns with Python's ``re.search``, where ``$`` also matches before a final newline: a bare
    ``^…$`` lets a value ending in a newline through. The lookahead refuses it, and reads the same in the JSON
    Schema (ECMA) of the OpenAPI document.
    """
    return f"^{body}$(?!\\n)"


_ERROR_PATH = re.compile(r"`\$\.([A-Za-z0-9_]+)")
_NAMED_FIELD = re.compile(r"^Object (?:missing required|contains unknown) field `([^`]+)`")
S = TypeVar("S", bound=msgspec.Struct)


class CamelStruct(msgspec.Struct, rename="camel", kw_only=True):
    """A response schema, encoded with camelCase member names."""


class InputStruct(CamelStruct, forbid_unknown_fields=True):
    """A request body: unknown members are rejected rather than silently ignored."""


def error_field(error: msgspec.ValidationError) -> str | None:
    """Return the top-level member (its wire name) a msgspec validation error is about.

    A member inside one (a metadata key or value) counts as that member; a missing or unknown member of the
    document is named too. ``None`` when the error is about the whole document.
    """
    match = _ERROR_PATH.search(str(error))
    if match is not None:
        return match.group(1)
    named = _NAMED_FIELD.match(str(error))
    return named.group(1) if named is not None else None


def error_message(error: msgspec.ValidationError) -> str:
    """The message of a msgspec validation error without its path (reported apart, as the field)."""
    return str(error).split(" - at ", maxsplit=1)[0]


def validated(data: S) -> S:
    """Check a struct against its type's constraints; structs built in code skip them otherwise.

    Raises:
        ValidationFailedError: A value breaks its constraint.
    """
    try:
        return msgspec.convert(msgspec.to_builtins(data), type(data))
    except msgspec.ValidationError as exc:
        raise ValidationFailedError(
            "The input does not match the expected schema.",
            extra={"errors": [{"field": error_field(exc), "source": "body", "message": error_message(exc)}]},
        ) from exc
