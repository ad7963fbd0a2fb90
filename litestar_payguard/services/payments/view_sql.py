"""The payment view (``schemas.payments.Payment``) rendered by the database, for statements that publish it.

A set-wise statement (a stale-cleanup batch, a worker's fast path) writes an outbox event for each payment it
changes without bringing a row to Python: the event's payload is built in SQL, member by member, from the same
view the ORM path encodes, so both publish the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import msgspec

from litestar_payguard.models import Payment
from litestar_payguard.schemas.payments import Payment as PaymentView

if TYPE_CHECKING:
    from sqlalchemy import Table

__all__ = ("payload_sql",)

_payment = cast("Table", Payment.__table__).c

_RFC3339 = (
    "to_char({0} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {0}) = {0} "
    """THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
)
"""A UTC timestamp as msgspec encodes it: seconds, then six digits of fraction only when there is one."""
_SQL_RENDER = {"id": "id::text", "metadata": "metadata", "created_at": _RFC3339.format("created_at")}
"""How a field of the payment view is rendered from the expired row, where it is not the column of its name."""


def payload_sql() -> str:
    """``jsonb_build_object(…)`` of the payment view, member by member, in its order and with its names."""
    members = []
    for field in msgspec.structs.fields(PaymentView):
        if field.name not in _SQL_RENDER and field.name not in _payment:
            msg = f"payment view field {field.name!r} has no SQL rendering: add it to _SQL_RENDER"
            raise RuntimeError(msg)
        members.append(f"'{field.encode_name}', {_SQL_RENDER.get(field.name, field.name)}")
    return f"jsonb_build_object({', '.join(members)})"
