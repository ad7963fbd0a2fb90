"""What the shop sold, and the order a successful payment becomes.

Both come from the shop's own records, never from what a client can write into a session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from demo_app.catalogue import CATALOGUE
from demo_app.models import Cart, CartItem, Checkout, Order

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.models import Payment
    from litestar_payguard.schemas import Session

__all__ = ("OrderMismatchError", "fulfil_order", "insert_for", "record_checkout")

Items = list[dict[str, Any]]
"""``[{"productId": …, "quantity": …}]``."""


class OrderMismatchError(Exception):
    """The payment is not what the shop sold: no order is made.

    Raised from the fulfilment hook, it rolls back the payment's success; payguard retries the hook and then flags
    the payment for attention, so a person sees the captured money without an order and refunds or settles it.
    """


def insert_for(db: AsyncSession) -> Any:
    """The dialect's ``INSERT`` (for ``ON CONFLICT``): Postgres in production, SQLite embedded."""
    return pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert


async def record_checkout(
    db: AsyncSession, username: str, session: Session, items: Items, cart_id: UUID | None = None
) -> None:
    """Write down what a checkout the shop opened sells, in the session's own transaction.

    Args:
        db: The request's database session (the one payguard opened the session in).
        username: The customer.
        session: The checkout session just opened, priced by the shop.
        items: What it sells.
        cart_id: The customer's own cart it pays for, if any.
    """
    payment = session.payment
    db.add(
        Checkout(
            payment_id=payment.id,
            username=username,
            cart_id=cart_id,
            items=items,
            amount=payment.amount,
            currency=payment.currency,
        )
    )
    await db.flush()


async def fulfil_order(payment: Payment, db: AsyncSession) -> None:
    """Payguard's ``on_payment_succeeded`` hook: the order, in the transaction that records the payment.

    The order holds what the shop sold: the checkout it recorded for this payment, or, for a payment it opened no
    checkout for (``POST /payguard/sessions``, the merchant API), the product named by the bundle at the catalogue's
    price. Runs once per success; the unique payment id on orders makes a second order impossible even if it ran
    again. The paid items leave the paying customer's own cart (what was added since the checkout stays).

    Raises:
        OrderMismatchError: The payment's amount, currency or customer is not what the shop sold.
    """
    checkout = await db.scalar(select(Checkout).where(Checkout.payment_id == payment.id))
    items = await _sold(db, payment, checkout)
    created = await db.scalar(
        insert_for(db)(Order)
        .values(
            username=payment.customer_id,
            payment_id=payment.id,
            amount=payment.amount,
            currency=payment.currency,
            items=items,
        )
        .on_conflict_do_nothing(index_elements=["payment_id"])
        .returning(Order.id)
    )
    cart_id = checkout.cart_id if checkout is not None else None
    if created is not None and cart_id is not None:  # only the order made now takes its items from the cart
        for item in items:  # what was paid leaves the cart; what was added after the checkout stays
            where = (CartItem.cart_id == cart_id, CartItem.product_id == item["productId"])
            await db.execute(update(CartItem).where(*where).values(quantity=CartItem.quantity - item["quantity"]))
            await db.execute(delete(CartItem).where(*where, CartItem.quantity <= 0))


async def _sold(db: AsyncSession, payment: Payment, checkout: Checkout | None) -> Items:
    """What the payment buys, once it is checked to be what the shop sold."""
    paid = (payment.amount, payment.currency)
    if checkout is None:
        product = CATALOGUE.get(payment.bundle_id)
        if product is None or paid != (product.amount, product.currency):
            msg = f"Payment {payment.id} ({paid[0]} {paid[1]} for {payment.bundle_id!r}) is no catalogue price."
            raise OrderMismatchError(msg)
        return [{"productId": product.id, "quantity": 1}]
    if (*paid, payment.customer_id) != (checkout.amount, checkout.currency, checkout.username):
        msg = f"Payment {payment.id} ({paid[0]} {paid[1]}) is not what checkout {checkout.id} sold."
        raise OrderMismatchError(msg)
    if checkout.cart_id is not None:
        owner = await db.scalar(select(Cart.username).where(Cart.id == checkout.cart_id))
        if owner != checkout.username:
            msg = f"Checkout {checkout.id} names a cart that is not its customer's."
            raise OrderMismatchError(msg)
    return list(checkout.items)
