"""The shop: a catalogue, and a checkout route of the host's own built on payguard's Python API."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession  # Litestar reads handler signatures at run time

from demo_app.carts import add_item, checkout_cart, get_cart, get_cart_by_id, list_orders, remove_item, username_of
from demo_app.catalogue import CATALOGUE, Product, ProductNotFoundError
from demo_app.fulfilment import record_checkout
from demo_app.shop_pages import SHOP_PAGES, front_page, shop_error, wants_html
from litestar_payguard import SessionService
from litestar_payguard.exceptions import PayGuardError
from litestar_payguard.middleware import IDEMPOTENCY_OPT_KEY
from litestar_payguard.middleware.strict_json import check_request
from litestar_payguard.problems import build_exception_handlers
from litestar_payguard.schemas import SessionCreate
from litestar_payguard.schemas.pending import SessionOpened

__all__ = ("build_pages_router", "build_shop_router", "index", "me", "products")


class Checkout(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Buy a product."""

    product_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


@get("/", operation_id="demoIndex", tags=["demo"], sync_to_thread=False)
def index(request: Request[Any, Any, Any]) -> Response[Any]:
    """What this demo is and where to start: the shop's front page for a browser, this map as JSON otherwise."""
    if wants_html(request):
        page = front_page(request)
        page.headers["Vary"] = "Accept"
        return page
    return Response(
        {
            "shop": "payguard demo shop",
            "browser": "open / in a browser: the shop, /login, /cart, /orders, /payguard/admin/dashboard/",
            "login": 'POST /auth/login {"username": "alice"} -> bearer token',
            "products": "GET /products",
            "checkout": 'POST /shop/checkout {"productId": "pro-monthly"} (or POST /payguard/sessions {"bundleId": …})',
            "cart": 'GET /shop/cart; POST /shop/cart/items {"productId": "pro-monthly"}; POST /shop/cart/checkout',
            "orders": "GET /shop/orders (created when the payment succeeds)",
            "sessions": "/payguard/sessions/{id}[/interrupt|/resume|/complete|/cancel|/summary]",
            "admin": "GET /payguard/admin/sessions/active (log in as an admin)",
            "docs": "/schema/swagger",
        },
        headers={"Vary": "Accept"},  # the same URL is a page for browsers: caches keep both apart
    )


@get("/products", operation_id="demoListProducts", tags=["demo"], sync_to_thread=False)
def products() -> list[Product]:
    """The catalogue."""
    return list(CATALOGUE.values())


@get("/me", operation_id="demoMe", tags=["demo"], sync_to_thread=False)
def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The signed-in user."""
    user = request.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Log in first: POST /auth/login.")
    return {"username": user.username, "isAdmin": user.is_admin}


@post("/checkout", operation_id="demoCheckout", tags=["demo"], status_code=201)
async def checkout(
    data: JSONBody[Checkout],
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    payguard_sessions: NamedDependency[SessionService],
) -> SessionOpened:
    """Open a payguard checkout session for a catalogue product, priced by the shop, not the client."""
    product = CATALOGUE.get(data.product_id)
    if product is None:
        msg = f"No product {data.product_id!r}."
        raise ProductNotFoundError(msg)
    order = SessionCreate(
        bundle_id=product.id, amount=product.amount, currency=product.currency, plan_name=product.name
    )
    session = payguard_sessions.view(await payguard_sessions.create(order))
    await record_checkout(db_session, username_of(request), session, [{"productId": product.id, "quantity": 1}])
    return session


def build_shop_router(*, payguard_path: str) -> Router:
    """Build the shop's own routes that write through payguard.

    They opt in to payguard's transaction boundary and ``Idempotency-Key`` support (``opt``) and use its problem
    details, as any host route calling payguard's services should: a client that times out and retries a
    checkout gets the same session. They also take payguard's strict input (``check_request``): JSON bodies
    declared as JSON, decoded without coercion, bad UTF-8 a 400 rather than Litestar's 500.
    """
    return Router(
        path="/shop",
        route_handlers=[checkout, get_cart, get_cart_by_id, add_item, remove_item, checkout_cart, list_orders],
        opt={IDEMPOTENCY_OPT_KEY: "optional"},
        exception_handlers=build_exception_handlers(payguard_path),
        before_request=check_request,
    )


def build_pages_router(*, payguard_path: str) -> Router:
    """The shop's pages for a browser; refusals are pages.

    They write through payguard's services, so they opt in to its transaction boundary, as the JSON routes do.
    """
    handlers = {**build_exception_handlers(payguard_path), PayGuardError: shop_error, HTTPException: shop_error}
    return Router(
        path="/", route_handlers=SHOP_PAGES, opt={IDEMPOTENCY_OPT_KEY: "optional"}, exception_handlers=handlers
    )
