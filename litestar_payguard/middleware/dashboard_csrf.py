"""The dashboard's CSRF protection: Litestar's signed double-submit cookie, which heals a cookie it cannot verify.

Litestar's middleware keeps a token cookie signed with another key (the key changed, or the process restarted with
a random one) and renders it into every form, which then always fails until the browser drops the cookie. Here a
page load (a safe method) drops such a cookie first, so the page gets a fresh token and its forms work.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Empty, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

__all__ = ("DashboardCSRFMiddleware",)


class DashboardCSRFMiddleware(CSRFMiddleware):
    """:class:`~litestar.middleware.csrf.CSRFMiddleware` that replaces an unverifiable cookie on a page load."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Drop the token cookie of a safe request when its signature is not this key's, then check as Litestar does."""
        if scope["type"] == ScopeType.HTTP and scope["method"] in self.config.safe_methods:
            scope["headers"] = [
                (name, self._without_unverifiable(value) if name == b"cookie" else value)
                for name, value in scope["headers"]
            ]
            # An outer middleware (the host's auth) may have parsed them already: parse them again from here.
            state = ScopeState.from_scope(scope)
            state.cookies = Empty
            state.headers = Empty
        await super().__call__(scope, receive, send)

    def _without_unverifiable(self, header: bytes) -> bytes:
        prefix = f"{self.config.cookie_name}="
        kept = []
        for part in header.decode("latin-1").split(";"):
            cookie = part.strip()
            if cookie.startswith(prefix) and self._decode_csrf_token(cookie.removeprefix(prefix)) is None:
                continue
            kept.append(cookie)
        return "; ".join(kept).encode("latin-1")
