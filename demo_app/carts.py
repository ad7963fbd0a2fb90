"""The shop's carts: one per user, safe under concurrent adds, paid through payguard, fulfilled exactly once."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, JSONBody
from sqlalchemy import delete as sql_delete
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession  # Litestar reads handler signatures at run time

from demo_app.catalogue import CATALOGUE, ProductNotFoundError
from demo_app.models import Cart, CartItem, Order
from litestar_payguard import SessionService
from litestar_payguard.exceptions import InvalidRequestError, NotFoundError
from litestar_payguard.ids import as_uuid
from litestar_payguard.schemas import SessionCreate
from litestar_payguard.schemas.pending import SessionOpened

if TYPE_CHECKING:
    from litestar_payguard.models import Payment

__all__ = ("add_item", "checkout_cart", "fulfil_order", "get_cart", "get_cart_by_id", "list_orders", "remove_item")


class CartNotFoundError(NotFoundError):
    """No cart with this id belongs to the signed-in user."""

    code = "CART_NOT_FOUND"
    title = "Cart not found"


class CartEmptyError(InvalidRequestError):
    """There is nothing to pay for."""

    code = "CART_EMPTY"
    title = "Cart is empty"


class MixedCurrenciesError(InvalidRequestError):
    """One payment has one currency."""

    code = "CART_MIXED_CURRENCIES"
    title = "Cart has several currencies"


class AddItem(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Put a product in the cart."""

    product_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=99)] = 1


class Line(msgspec.Struct, rename="camel"):
    """A cart line, priced by the shop."""

    product_id: str
    name: str
    quantity: int
    amount: int
    currency: str


class CartView(msgspec.Struct, rename="camel"):
    """A cart with its lines and totals by currency."""

    id: UUID
    items: list[Line]
    totals: dict[str, int]


class OrderView(msgspec.Struct, rename="camel"):
    """An order the shop created when its payment succeeded."""

    id: UUID
    payment_id: UUID
    amount: int
    currency: str
    items: list[dict[str, Any]]


def _username(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Log in first: POST /auth/login.")
    return str(user.username)


def _insert(db: AsyncSession) -> Any:
    return pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert


async def own_cart(db: AsyncSession, username: str) -> Cart:
    """The user's cart, created on first use; concurrent first uses end with one cart.

    Created through the ORM in a savepoint: the unique username makes a concurrent creator wait for the first one
    and then fail, and it reads the winner's cart instead.
    """
    cart = await db.scalar(select(Cart).where(Cart.username == username))
    if cart is not None:
        return cart
    try:
        async with db.begin_nested():
            cart = Cart(username=username)
            db.add(cart)
    except IntegrityError:
        cart = await db.scalar(select(Cart).where(Cart.username == username))
    assert cart is not None
    return cart


async def _lines(db: AsyncSession, cart: Cart) -> list[Line]:
    items = await db.scalars(select(CartItem).where(CartItem.cart_id == cart.id).order_by(CartItem.product_id))
    lines = []
    for item in items:
        product = CATALOGUE[item.product_id]
        lines.append(
            Line(
                product_id=product.id,
                name=product.name,
                quantity=item.quantity,
                amount=product.amount * item.quantity,
                currency=product.currency,
            )
        )
    return lines


async def _view(db: AsyncSession, cart: Cart) -> CartView:
    lines = await _lines(db, cart)
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.currency] = totals.get(line.currency, 0) + line.amount
    return CartView(id=cart.id, items=lines, totals=totals)


@get("/cart", operation_id="demoGetCart")
async def get_cart(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> CartView:
    """The signed-in user's cart (created on first use)."""
    return await _view(db_session, await own_cart(db_session, _username(request)))


@get("/carts/{cart_id:str}", operation_id="demoGetCartById")
async def get_cart_by_id(
    cart_id: FromPath[str], request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> CartView:
    """A cart by id: only its owner sees it; anyone else gets 404."""
    key = as_uuid(cart_id)
    cart = None
    if key is not None:
        cart = await db_session.scalar(select(Cart).where(Cart.id == key, Cart.username == _username(request)))
    if cart is None:
        raise CartNotFoundError(f"No cart {cart_id}.")
    return await _view(db_session, cart)


@post("/cart/items", operation_id="demoAddToCart", status_code=200)
async def add_item(
    data: JSONBody[AddItem], request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> CartView:
    """Add a product; concurrent adds all count (one atomic upsert each, no read-modify-write)."""
    if data.product_id not in CATALOGUE:
        raise ProductNotFoundError(f"No product {data.product_id!r}.")
    cart = await own_cart(db_session, _username(request))
    insert = _insert(db_session)
    statement = insert(CartItem).values(cart_id=cart.id, product_id=data.product_id, quantity=data.quantity)
    await db_session.execute(
        statement.on_conflict_do_update(
            index_elements=["cart_id", "product_id"],
            set_={"quantity": CartItem.quantity + statement.excluded.quantity},
        )
    )
    return await _view(db_session, cart)


@delete("/cart/items/{product_id:str}", operation_id="demoRemoveFromCart", status_code=200)
async def remove_item(
    product_id: FromPath[str], request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> CartView:
    """Take a product out of the cart."""
    cart = await own_cart(db_session, _username(request))
    await db_session.execute(sql_delete(CartItem).where(CartItem.cart_id == cart.id, CartItem.product_id == product_id))
    return await _view(db_session, cart)


@post("/cart/checkout", operation_id="demoCheckoutCart", status_code=201)
async def checkout_cart(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    payguard_sessions: NamedDependency[SessionService],
) -> SessionOpened:
    """Open a payguard checkout session for the cart, priced by the shop.

    The bundle is the cart: a second checkout while the first is open answers 409 with the ways out.
    """
    cart = await own_cart(db_session, _username(request))
    lines = await _lines(db_session, cart)
    if not lines:
        raise CartEmptyError("Add something to the cart first.")
    currencies = {line.currency for line in lines}
    if len(currencies) > 1:
        raise MixedCurrenciesError(f"The cart mixes {sorted(currencies)}: check out one currency at a time.")
    items = [{"productId": line.product_id, "quantity": line.quantity} for line in lines]
    order = SessionCreate(
        bundle_id=f"cart-{cart.id}",
        amount=sum(line.amount for line in lines),
        currency=currencies.pop(),
        plan_name=f"Cart of {len(lines)} products",
        metadata={"cartId": str(cart.id), "items": json.dumps(items, separators=(",", ":"))},
    )
    return await payguard_sessions.open(order)


@get("/orders", operation_id="demoListOrders")
async def list_orders(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> list[OrderView]:
    """The signed-in user's orders, newest first."""
    orders = await db_session.scalars(
        select(Order).where(Order.username == _username(request)).order_by(Order.created_at.desc())
    )
    return [
        OrderView(id=o.id, payment_id=o.payment_id, amount=o.amount, currency=o.currency, items=o.items) for o in orders
    ]


async def fulfil_order(payment: Payment, db: AsyncSession) -> None:
    """Payguard's ``on_payment_succeeded`` hook: the order, in the transaction that records the payment.

    Runs once per success; the unique payment id on orders makes a second order impossible even if it ran again.
    The paid items leave the cart (what was added since the checkout stays).
    """
    cart_id = as_uuid(str(payment.extra.get("cartId", "")))
    items = json.loads(str(payment.extra.get("items", "[]")))
    if cart_id is None:  # a payment of a single product (POST /shop/checkout): its bundle is the product
        items = [{"productId": payment.bundle_id, "quantity": 1}]
    insert = _insert(db)
    created = await db.scalar(
        insert(Order)
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
    if created is not None and cart_id is not None:  # only the order made now takes its items from the cart
        for item in items:  # what was paid leaves the cart; what was added after the checkout stays
            where = (CartItem.cart_id == cart_id, CartItem.product_id == item["productId"])
            await db.execute(update(CartItem).where(*where).values(quantity=CartItem.quantity - item["quantity"]))
            await db.execute(sql_delete(CartItem).where(*where, CartItem.quantity <= 0))
