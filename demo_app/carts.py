"""The shop's carts: one per user, safe under concurrent adds, paid through payguard at the shop's prices."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, JSONBody
from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession  # Litestar reads handler signatures at run time

from demo_app.catalogue import CATALOGUE, ProductNotFoundError
from demo_app.fulfilment import insert_for, record_checkout
from demo_app.models import Cart, CartItem, Order
from litestar_payguard import SessionService
from litestar_payguard.exceptions import InvalidRequestError, NotFoundError
from litestar_payguard.ids import as_uuid
from litestar_payguard.schemas import SessionCreate
from litestar_payguard.schemas.pending import SessionOpened

__all__ = (
    "CartView",
    "add_item",
    "add_to_cart",
    "cart_of",
    "checkout_cart",
    "get_cart",
    "get_cart_by_id",
    "list_orders",
    "open_checkout",
    "orders_of",
    "remove_from_cart",
    "remove_item",
    "username_of",
)


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


def username_of(request: Request[Any, Any, Any]) -> str:
    """The signed-in user's name; 401 when anonymous."""
    user = request.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Log in first: POST /auth/login.")
    return str(user.username)


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
    return await cart_of(db_session, username_of(request))


@get("/carts/{cart_id:str}", operation_id="demoGetCartById")
async def get_cart_by_id(
    cart_id: FromPath[str], request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> CartView:
    """A cart by id: only its owner sees it; anyone else gets 404."""
    key = as_uuid(cart_id)
    cart = None
    if key is not None:
        cart = await db_session.scalar(select(Cart).where(Cart.id == key, Cart.username == username_of(request)))
    if cart is None:
        raise CartNotFoundError(f"No cart {cart_id}.")
    return await _view(db_session, cart)


async def add_to_cart(db: AsyncSession, username: str, product_id: str, quantity: int) -> CartView:
    """Add a product; concurrent adds all count (one atomic upsert each, no read-modify-write)."""
    if product_id not in CATALOGUE:
        raise ProductNotFoundError(f"No product {product_id!r}.")
    cart = await own_cart(db, username)
    insert = insert_for(db)
    statement = insert(CartItem).values(cart_id=cart.id, product_id=product_id, quantity=quantity)
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=["cart_id", "product_id"],
            set_={"quantity": CartItem.quantity + statement.excluded.quantity},
        )
    )
    return await _view(db, cart)


async def remove_from_cart(db: AsyncSession, username: str, product_id: str) -> CartView:
    """Take a product out of the cart."""
    cart = await own_cart(db, username)
    await db.execute(sql_delete(CartItem).where(CartItem.cart_id == cart.id, CartItem.product_id == product_id))
    return await _view(db, cart)


async def cart_of(db: AsyncSession, username: str) -> CartView:
    """The user's cart (created on first use)."""
    return await _view(db, await own_cart(db, username))


async def open_checkout(db: AsyncSession, username: str, sessions: SessionService) -> SessionOpened:
    """Open a payguard checkout session for the cart, priced by the shop, and record what it sells.

    The bundle is the cart: a second checkout while the first is open answers 409 with the ways out. The order is
    made from the recorded checkout, so items added to the cart afterwards are neither paid for nor ordered.
    """
    cart = await own_cart(db, username)
    lines = await _lines(db, cart)
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
        metadata={"cartId": str(cart.id)},
    )
    session = await sessions.open(order)
    await record_checkout(db, cart.username, session, items, cart_id=cart.id)
    return session


async def orders_of(db: AsyncSession, username: str) -> list[OrderView]:
    """The user's orders, newest first."""
    orders = await db.scalars(select(Order).where(Order.username == username).order_by(Order.created_at.desc()))
    return [
        OrderView(id=o.id, payment_id=o.payment_id, amount=o.amount, currency=o.currency, items=o.items) for o in orders
    ]


@post("/cart/items", operation_id="demoAddToCart", status_code=200)
async def add_item(
    data: JSONBody[AddItem], request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> CartView:
    """Add a product; concurrent adds all count (one atomic upsert each, no read-modify-write)."""
    return await add_to_cart(db_session, username_of(request), data.product_id, data.quantity)


@delete("/cart/items/{product_id:str}", operation_id="demoRemoveFromCart", status_code=200)
async def remove_item(
    product_id: FromPath[str], request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> CartView:
    """Take a product out of the cart."""
    return await remove_from_cart(db_session, username_of(request), product_id)


@post("/cart/checkout", operation_id="demoCheckoutCart", status_code=201)
async def checkout_cart(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    payguard_sessions: NamedDependency[SessionService],
) -> SessionOpened:
    """Open a payguard checkout session for the cart, priced by the shop, and record what it sells."""
    return await open_checkout(db_session, username_of(request), payguard_sessions)


@get("/orders", operation_id="demoListOrders")
async def list_orders(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> list[OrderView]:
    """The signed-in user's orders, newest first."""
    return await orders_of(db_session, username_of(request))
