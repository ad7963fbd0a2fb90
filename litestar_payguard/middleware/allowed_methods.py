"""OPTIONS on payguard's routes: every method of the path in ``Allow``.

Litestar 2 builds its automatic OPTIONS answer when a path's first handler is registered, so a path whose
methods come from several handlers (``GET`` and ``POST /v1/payments``) lists only the first one's
(litestar-org/litestar#4169, fixed in Litestar 3). This middleware answers OPTIONS itself from the application's
final routes, which is also what its 405 answers list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.routes import HTTPRoute

if TYPE_CHECKING:
    from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

__all__ = ("AllowedMethodsMiddleware",)


class AllowedMethodsMiddleware(ASGIMiddleware):
    """Answers OPTIONS with ``204`` and the path's methods; holds no per-request state."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Answer OPTIONS; pass everything else on."""
        if scope.get("method") != "OPTIONS":
            await next_app(scope, receive, send)
            return
        template = scope.get("path_template")
        methods = {
            method
            for route in scope["litestar_app"].routes
            if isinstance(route, HTTPRoute) and route.path_format == template
            for method in route.methods
        }
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 204,
            "headers": [(b"allow", ", ".join(sorted(methods | {"OPTIONS"})).encode())],
        }
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(start)
        await send(end)
