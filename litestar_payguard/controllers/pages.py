"""The pages payguard serves to people: the hosted checkout page."""

from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from litestar_payguard.pages import checkout_headers, render_checkout
from litestar_payguard.runtime import PayGuard
from litestar_payguard.services.merchants import origin_of
from litestar_payguard.services.sessions import CheckoutPageService

__all__ = ("CheckoutPageController",)


class CheckoutPageController(Controller):
    """``GET {path}/checkout/{id}``: the session's hosted checkout page (its secret stays in the fragment)."""

    path = "/checkout"
    include_in_schema = False  # a page for people, not an operation of the API

    @get("/{session_id:str}", media_type=MediaType.HTML)
    async def checkout_page(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[str],
        payguard: NamedDependency[PayGuard],
        payguard_checkout_pages: NamedDependency[CheckoutPageService],
        embed: FromQuery[str | None] = None,
    ) -> Response[str]:
        """The page; ``embed`` is the origin of the page that embeds it (checkout.js sets it)."""
        page = await payguard_checkout_pages.page(session_id, embed, origin_of(str(request.base_url)))
        html = render_checkout(page, session_id=session_id, api_path=payguard.config.path)
        return Response(html, media_type=MediaType.HTML, headers=checkout_headers(page))
