"""The shop's own tables: carts, their items, the checkouts it opened, and orders (made by the fulfilment hook)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDAuditBase, orm_registry
from advanced_alchemy.types import JsonB
from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ("Cart", "CartItem", "Checkout", "Order", "create_tables")

TABLES_LOCK = 0x7061_7967  # "payg": the advisory lock the demo's processes take to create tables


class Cart(UUIDAuditBase):
    """A shopper's cart: one per user, created on first use."""

    __tablename__ = "demo_cart"

    username: Mapped[str] = mapped_column(String(64), unique=True)


class CartItem(UUIDAuditBase):
    """A product in a cart; adding it again adds to its quantity."""

    __tablename__ = "demo_cart_item"
    __table_args__ = (UniqueConstraint("cart_id", "product_id", name="uq_demo_cart_item"),)

    cart_id: Mapped[UUID] = mapped_column(ForeignKey("demo_cart.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)


class Checkout(UUIDAuditBase):
    """What the shop sold in a checkout it opened, written with the session: the order is made from this.

    The fulfilment hook checks the payment against it (amount, currency, customer), so what a customer can put in a
    session's metadata never becomes an order, and only the paying customer's own cart is emptied.
    """

    __tablename__ = "demo_checkout"

    payment_id: Mapped[UUID] = mapped_column(unique=True)
    """The payguard payment of the checkout session."""
    username: Mapped[str] = mapped_column(String(255))
    """The customer who checked out (the payment's ``customer_id``)."""
    cart_id: Mapped[UUID | None] = mapped_column(ForeignKey("demo_cart.id", ondelete="CASCADE"), default=None)
    """The cart paid for; ``None`` for a single product (``POST /shop/checkout``)."""
    items: Mapped[list[dict[str, Any]]] = mapped_column(JsonB)
    """``[{"productId", "quantity"}]``, priced by the shop when the checkout was opened."""
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class Order(UUIDAuditBase):
    """What a paid cart became; one per payment (the unique payment id makes a second one impossible)."""

    __tablename__ = "demo_order"

    username: Mapped[str] = mapped_column(String(255), index=True)
    """The payment's customer: a shop user, or a merchant-API payment's ``customerId`` (up to 255 characters)."""
    payment_id: Mapped[UUID] = mapped_column(unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JsonB)


async def create_tables(engine: AsyncEngine) -> None:
    """Create the missing tables (the shop's, and payguard's when no migration made them), one process at a time.

    Several processes start together in a deployment; each would find a table missing and create it, and on Postgres
    all but the first would fail on the catalogue's unique index. A transaction-level advisory lock makes the others
    wait for the first one's commit, and then find every table there.
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TABLES_LOCK})
        await connection.run_sync(orm_registry.metadata.create_all)
