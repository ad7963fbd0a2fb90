"""The shop's catalogue: what it sells, at its own prices (minor units)."""

from __future__ import annotations

import msgspec

from litestar_payguard.exceptions import NotFoundError

__all__ = ("CATALOGUE", "Product", "ProductNotFoundError")


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


class ProductNotFoundError(NotFoundError):
    """No product with this id."""

    code = "PRODUCT_NOT_FOUND"
    title = "Product not found"
