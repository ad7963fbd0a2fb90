"""The shop's own tables: carts, their items, and orders (created by payguard's fulfilment hook)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDAuditBase
from advanced_alchemy.types import JsonB
from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ("Cart", "CartItem", "Order")


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


class Order(UUIDAuditBase):
    """What a paid cart became; one per payment (the unique payment id makes a second one impossible)."""

    __tablename__ = "demo_order"

    username: Mapped[str] = mapped_column(String(255), index=True)
    """The payment's customer: a shop user, or a merchant-API payment's ``customerId`` (up to 255 characters)."""
    payment_id: Mapped[UUID] = mapped_column(unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JsonB)
