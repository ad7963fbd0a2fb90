"""Rows of one owner: "this payment (session, refund) of this merchant, and of this customer, or none".

A principal sees only its own rows: its merchant's, and among those its customer's; a merchant's own API sees all
of the merchant's rows. The criteria are on the tables' columns, so they serve ORM and Core statements alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

from sqlalchemy import and_, bindparam

from litestar_payguard.ids import as_uuid
from litestar_payguard.principal import Principal

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from litestar_payguard.models import CheckoutSession, Payment, Refund

    OwnedModel: TypeAlias = type[Payment] | type[CheckoutSession] | type[Refund]

__all__ = ("bound_owned", "owned", "owned_params", "owner_filter")


def owner_filter(model: OwnedModel, owner: Principal | UUID) -> ColumnElement[bool]:
    """The criteria of the owner's rows of ``model``.

    Args:
        model: The mapped class whose table is read.
        owner: A customer (a principal: its merchant's rows of its customer) or a merchant (its id: all its rows;
            the only owner of rows without a customer, such as refunds).

    Raises:
        CustomerRequiredError: A principal that identifies no customer.
    """
    columns = model.__table__.c
    if isinstance(owner, Principal):
        return and_(columns.merchant_id == owner.merchant_id, columns.customer_id == owner.require_customer())
    return columns.merchant_id == owner


def owned(model: OwnedModel, owner: Principal | UUID, row_id: str | UUID) -> ColumnElement[bool] | None:
    """The criteria of the owner's row ``row_id`` of ``model``; ``None`` when the id is no UUID (it names no row).

    Raises:
        CustomerRequiredError: A principal that identifies no customer (asked only of an id that is a UUID).
    """
    key = as_uuid(row_id)
    if key is None:
        return None
    return and_(model.__table__.c.id == key, owner_filter(model, owner))


def bound_owned(model: OwnedModel) -> ColumnElement[bool]:
    """:func:`owned` of a customer for a statement built once: bind parameters that :func:`owned_params` fills.

    A statement built once with bind parameters keeps its cache key, so a frequent read (polling) pays no statement
    building.
    """
    columns = model.__table__.c
    return and_(
        columns.id == bindparam("owned_id"),
        columns.merchant_id == bindparam("owner_merchant_id"),
        columns.customer_id == bindparam("owner_customer_id"),
    )


def owned_params(owner: Principal, row_id: str | UUID) -> dict[str, Any] | None:
    """The parameters of :func:`bound_owned` for the customer's row ``row_id``; ``None`` when the id is no UUID.

    Raises:
        CustomerRequiredError: The principal identifies no customer (asked only of an id that is a UUID).
    """
    key = as_uuid(row_id)
    if key is None:
        return None
    return {"owned_id": key, "owner_merchant_id": owner.merchant_id, "owner_customer_id": owner.require_customer()}
