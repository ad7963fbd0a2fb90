"""The shop's catalogue: what it sells, at its own prices (minor units)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from litestar_payguard import Price
from litestar_payguard.exceptions import NotFoundError

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection

__all__ = ("CATALOGUE", "Product", "ProductNotFoundError", "price_of")


class Product(msgspec.Struct, rename="camel"):
    """A bundle the shop sells; prices in minor units."""

    id: str
    name: str
    amount: int
    currency: str


CATALOGUE = {
    product.id: product
    for product in (
        Product(id="starter-monthly", name="Starter, monthly", amount=900, currency="USD"),
        Product(id="pro-monthly", name="Pro, monthly", amount=2900, currency="USD"),
        Product(id="pro-yearly", name="Pro, yearly", amount=29000, currency="USD"),
        Product(id="team-yearly-inr", name="Team, yearly (INR)", amount=2_499_00, currency="INR"),
    )
}


def price_of(bundle_id: str, _plan_name: str | None, _connection: ASGIConnection[Any, Any, Any, Any]) -> Price | None:
    """The pricing hook: a session opened at ``POST /payguard/sessions`` costs the product's price."""
    product = CATALOGUE.get(bundle_id)
    if product is None:
        return None
    return Price(amount=product.amount, currency=product.currency, display_name=product.name)


class ProductNotFoundError(NotFoundError):
    """No product with this id."""

    code = "PRODUCT_NOT_FOUND"
    title = "Product not found"
