"""The shop in a browser: products, the cart, paying in payguard's modal (checkout.js), orders.

Server-rendered pages over the same functions as the JSON API (``demo_app/carts.py``); payguard's pages do the
paying. Forms post with the login cookie, which is ``SameSite=Lax``: another site's form never carries it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession  # Litestar reads handler signatures at run time

from demo_app.auth import DemoUser
from demo_app.carts import add_to_cart, cart_of, open_checkout, orders_of, remove_from_cart
from demo_app.catalogue import CATALOGUE
from litestar_payguard import SessionService
from litestar_payguard.exceptions import PayGuardError
from litestar_payguard.pages import money
from litestar_payguard.services.payments import PendingSameBundleError

__all__ = ("SHOP_PAGES", "front_page", "wants_html")

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-src 'self'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",  # the pay page holds the session's client secret
    "Referrer-Policy": "same-origin",
}


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["money"] = money
    return environment


def render(request: Request[Any, Any, Any], template: str, *, status_code: int = 200, **context: Any) -> Response[str]:
    """A page of the shop, for the signed-in user (or nobody)."""
    user = request.scope.get("user")
    html = (
        _environment()
        .get_template(template)
        .render(user=user if isinstance(user, DemoUser) else None, notice=request.query_params.get("done"), **context)
    )
    return Response(html, status_code=status_code, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """Whether the client prefers a page to JSON (a browser's ``Accept``)."""
    return request.accept.best_match(["application/json", "text/html"], default="application/json") == "text/html"


def _shopper(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    if not isinstance(user, DemoUser):
        raise NotAuthorizedException("Log in first.")
    return user.username


def _login_first(request: Request[Any, Any, Any]) -> Redirect | None:
    if isinstance(request.scope.get("user"), DemoUser):
        return None
    return Redirect(f"/login?next={request.url.path}", status_code=303)


def front_page(request: Request[Any, Any, Any]) -> Response[str]:
    """The shop's front page: the products, each with Add to cart."""
    return render(request, "index.html", products=list(CATALOGUE.values()))


@get("/cart", include_in_schema=False)
async def cart_page(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    """The signed-in user's cart."""
    return _login_first(request) or render(request, "cart.html", cart=await cart_of(db_session, _shopper(request)))


@post("/cart", include_in_schema=False, status_code=303)
async def add_to_cart_form(
    request: Request[Any, Any, Any], data: Form, db_session: NamedDependency[AsyncSession]
) -> Redirect:
    """Add one of a product to the cart, then show the cart."""
    if (login := _login_first(request)) is not None:
        return login
    await add_to_cart(db_session, _shopper(request), data.get("productId", ""), 1)
    return Redirect("/cart?done=Added+to+your+cart.", status_code=303)


@post("/cart/remove", include_in_schema=False, status_code=303)
async def remove_from_cart_form(
    request: Request[Any, Any, Any], data: Form, db_session: NamedDependency[AsyncSession]
) -> Redirect:
    """Take a product out of the cart."""
    await remove_from_cart(db_session, _shopper(request), data.get("productId", ""))
    return Redirect("/cart", status_code=303)


@post("/cart/checkout", include_in_schema=False, status_code=200)
async def checkout_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    payguard_sessions: NamedDependency[SessionService],
) -> Response[str]:
    """Open a session for the cart and the page that pays it in payguard's modal (or on payguard's own page).

    An earlier unfinished checkout of the same cart (its page closed) is cancelled first: the customer starts over.
    """
    username = _shopper(request)
    earlier = False
    try:
        session = await open_checkout(db_session, username, payguard_sessions)
    except PendingSameBundleError as conflict:
        for pending in conflict.extra.get("conflicts", []):
            if pending.get("sessionId"):
                await payguard_sessions.cancel(pending["sessionId"])
        session = await open_checkout(db_session, username, payguard_sessions)
        earlier = True
    return render(request, "pay.html", session=session, checkout_url=session.checkout_url, earlier=earlier)


@get("/orders", include_in_schema=False)
async def orders_page(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    """The signed-in user's orders, made when their payment succeeded."""
    if (login := _login_first(request)) is not None:
        return login
    orders = await orders_of(db_session, _shopper(request))
    names = {product.id: product.name for product in CATALOGUE.values()}
    return render(request, "orders.html", orders=orders, names=names)


def shop_error(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
    """A refusal of payguard's or the shop's, as a page."""
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", "Something went wrong.")
    title = getattr(exc, "title", "Not possible") if isinstance(exc, PayGuardError) else "Not possible"
    return render(request, "error.html", status_code=status, title=title, detail=detail)


SHOP_PAGES = [cart_page, add_to_cart_form, remove_from_cart_form, checkout_page, orders_page]
"""The shop's pages (``/`` is :func:`front_page`, served by the index for browsers)."""
