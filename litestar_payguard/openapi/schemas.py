"""payguard's msgspec schemas in the OpenAPI document, constraints included.

Litestar renders a msgspec ``Struct`` from its type hints and loses what msgspec enforces on the wire: unknown
members refused (``forbid_unknown_fields``), the size of a ``dict`` and the constraints of its keys and values,
and a constraint of an optional member (``Amount | None`` lost its ``exclusiveMinimum: 0``). The document is a
contract, so payguard's structs are rendered from ``msgspec.inspect`` instead: what msgspec validates is what the
document says. Structs and enums met inside are handed back to Litestar, so they become shared components.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import msgspec.inspect as mi
from litestar.openapi.spec import Reference, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition
from litestar.utils import get_name

from litestar_payguard.schemas.base import CamelStruct, InputStruct
from litestar_payguard.schemas.sessions import MONEY

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

__all__ = ("PayGuardSchemaPlugin",)

_FORMATS: dict[type[mi.Type], OpenAPIFormat] = {
    mi.DateType: OpenAPIFormat.DATE,
    mi.UUIDType: OpenAPIFormat.UUID,
    mi.TimeDeltaType: OpenAPIFormat.DURATION,
}
_JSON_TYPES: dict[type, OpenAPIType] = {
    bool: OpenAPIType.BOOLEAN,
    int: OpenAPIType.INTEGER,
    float: OpenAPIType.NUMBER,
    str: OpenAPIType.STRING,
}


class PayGuardSchemaPlugin(OpenAPISchemaPlugin):
    """Renders payguard's structs (:class:`CamelStruct` and below) as msgspec validates them.

    Args:
        max_amount: ``PayGuardConfig.max_amount``: the services refuse a larger amount of money, so the document says
            so too.
    """

    __slots__ = ("_max_amount",)

    def __init__(self, *, max_amount: int) -> None:
        self._max_amount = max_amount

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        """Payguard's own structs; the host's are left to Litestar."""
        return not field_definition.is_union and field_definition.is_subclass_of(CamelStruct)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        """Register the struct as a component and fill it from its msgspec type info."""
        cls = field_definition.type_
        info = mi.type_info(cls)
        assert isinstance(info, mi.StructType)
        # Registered before its members are rendered, so a struct may refer to itself.
        schema = schema_creator.schema_registry.get_schema_for_field_definition(field_definition)
        schema.title = get_name(cls)
        schema.description = inspect.getdoc(cls)
        schema.type = OpenAPIType.OBJECT
        render = _Renderer(schema_creator, self._max_amount)
        schema.properties = {field.encode_name: render.member(field) for field in info.fields}
        schema.required = sorted(field.encode_name for field in info.fields if _is_required(cls, field))
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        # A rule across members (``if``/``then``…) that msgspec does not check, and the struct's service does.
        _extend(schema, getattr(cls, "json_schema_extra", {}))
        return schema


def _is_required(cls: type[CamelStruct], field: mi.Field) -> bool:
    """Whether the member is always there: required in a request body; in a response, unless it may be ``UNSET``.

    msgspec writes a response member that has a default (``None``, ``[]``) like any other; a request body may leave
    it out.
    """
    if field.required:
        return True
    if issubclass(cls, InputStruct) or cls.__struct_config__.omit_defaults:
        return False
    return field.default is not msgspec.NODEFAULT or field.default_factory is not msgspec.NODEFAULT  # not UNSET


@dataclass(frozen=True, slots=True)
class _Renderer:
    """Writes msgspec types as msgspec's own JSON Schema generator would, for one struct."""

    creator: SchemaCreator
    max_amount: int

    def member(self, field: mi.Field) -> Schema | Reference:
        schema = self.schema(field.type)
        if field.default is not msgspec.NODEFAULT and isinstance(schema, Schema):
            schema.default = msgspec.to_builtins(field.default)
        return schema

    def schema(self, t: mi.Type) -> Schema | Reference:  # noqa: PLR0911
        if isinstance(t, mi.Metadata):
            return self._annotated(t)
        if isinstance(t, mi.UnionType):
            # msgspec allows one member per JSON type in a union, so the members never overlap.
            return Schema(one_of=[self.schema(member) for member in t.types])
        if isinstance(t, mi.StructType | mi.EnumType | mi.DataclassType | mi.TypedDictType | mi.NamedTupleType):
            return self.creator.for_field_definition(FieldDefinition.from_annotation(t.cls))
        if isinstance(t, mi.NoneType):
            return Schema(type=OpenAPIType.NULL)
        if isinstance(t, mi.BoolType):
            return Schema(type=OpenAPIType.BOOLEAN)
        if isinstance(t, mi.IntType | mi.FloatType):
            return Schema(
                type=OpenAPIType.INTEGER if isinstance(t, mi.IntType) else OpenAPIType.NUMBER,
                minimum=t.ge,
                exclusive_minimum=t.gt,
                maximum=t.le,
                exclusive_maximum=t.lt,
                multiple_of=t.multiple_of,
            )
        if isinstance(t, mi.StrType):
            return Schema(type=OpenAPIType.STRING, min_length=t.min_length, max_length=t.max_length, pattern=t.pattern)
        if isinstance(t, mi.DateTimeType):
            return Schema(type=OpenAPIType.STRING, format=None if t.tz is False else OpenAPIFormat.DATE_TIME)
        if type(t) in _FORMATS:
            return Schema(type=OpenAPIType.STRING, format=_FORMATS[type(t)])
        if isinstance(t, mi.CollectionType):
            return Schema(
                type=OpenAPIType.ARRAY,
                items=self.schema(t.item_type),
                min_items=t.min_length,
                max_items=t.max_length,
                unique_items=True if isinstance(t, mi.SetType | mi.FrozenSetType) else None,
            )
        if isinstance(t, mi.DictType):
            return self._dict(t)
        if isinstance(t, mi.LiteralType):
            kinds = {_JSON_TYPES.get(type(value)) for value in t.values}
            return Schema(type=kinds.pop() if len(kinds) == 1 else None, enum=list(t.values))
        return Schema()  # AnyType, and nothing payguard uses

    def _dict(self, t: mi.DictType) -> Schema:
        key = self.schema(t.key_type)
        property_names = None
        if isinstance(key, Schema) and key.type == OpenAPIType.STRING:
            key.type = None  # a JSON member name is always a string; its constraints are what matter
            property_names = key if key != Schema() else None
        return Schema(
            type=OpenAPIType.OBJECT,
            property_names=property_names,
            additional_properties=None if isinstance(t.value_type, mi.AnyType) else self.schema(t.value_type),
            min_properties=t.min_length,
            max_properties=t.max_length,
        )

    def _annotated(self, t: mi.Metadata) -> Schema | Reference:
        """``Meta(description=…, extra_json_schema=…)`` on a schema (around a reference, which takes none)."""
        schema = self.schema(t.type)
        if (t.extra or {}).get(MONEY) and isinstance(schema, Schema) and schema.maximum is not None:
            schema.maximum = min(schema.maximum, self.max_amount)
        if not t.extra_json_schema:
            return schema
        target = Schema(all_of=[schema]) if isinstance(schema, Reference) else schema
        _extend(target, t.extra_json_schema)
        return target


def _extend(schema: Schema, extra: Mapping[str, Any]) -> None:
    """Set JSON Schema keywords (``pattern``, ``if``…) on a schema; their values are written as they are."""
    aliases = Schema.field_aliases()
    for key, value in extra.items():
        setattr(schema, aliases.get(key, key), value)
