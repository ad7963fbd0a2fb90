"""Base structs: camelCase on the wire."""

from __future__ import annotations

import msgspec

__all__ = ("CamelStruct", "InputStruct")


class CamelStruct(msgspec.Struct, rename="camel", kw_only=True):
    """A response schema, encoded with camelCase member names."""


class InputStruct(CamelStruct, forbid_unknown_fields=True):
    """A request body: unknown members are rejected rather than silently ignored."""
