"""The demo in a browser: the login page that sets the session cookie (the bearer API stays for API clients)."""

from __future__ import annotations

import re
from html import escape
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from demo_app.auth import SESSION_COOKIE, TokenSigner

__all__ = ("local_path", "login_page", "logout", "submit_login")

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'"
}


_UNSAFE_IN_PATH = re.compile(r"[\\\x00-\x20\x7f]")
"""Backslashes, controls and spaces: browsers read a backslash as a slash and drop tabs, so ``/`` + backslash +
``evil`` or ``/`` + tab + ``/evil`` is another site."""


def local_path(target: str | None) -> str:
    """Where to go after logging in: a path of this site only (never another site's, however it is spelt)."""
    if not target or _UNSAFE_IN_PATH.search(target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_html(next_path: str, error: str | None = None) -> str:
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · payguard demo shop</title><link rel="stylesheet" href="/payguard/static/dashboard.css"></head>
<body><main><h1>Log in</h1>
<p>The demo has no passwords: pick any name. <code>admin</code> is an admin and sees the dashboard.</p>{message}
<form method="post" action="/login" class="stacked">
<input type="hidden" name="next" value="{escape(next_path)}">
<label>Username
<input name="username" required maxlength="64" pattern="[A-Za-z0-9_.@\\-]+" autocomplete="username" autofocus></label>
<button type="submit" class="primary">Log in</button>
</form></main></body></html>"""


@get("/login", include_in_schema=False, sync_to_thread=False)
def login_page(request: Request[Any, Any, Any]) -> Response[str]:
    """The login form; ``?next=/path`` is where it leads afterwards."""
    target = local_path(request.query_params.get("next"))
    return Response(_login_html(target), media_type=MediaType.HTML, headers=_PAGE_HEADERS)


@post("/login", include_in_schema=False, status_code=303)
async def submit_login(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    """Log in: the session cookie, then back to where the user was going."""
    username = (data.get("username") or "").strip()
    target = local_path(data.get("next"))
    if not _USERNAME.match(username):
        page = _login_html(target, "A username is 1 to 64 letters, digits or . _ @ -")
        return Response(page, status_code=400, media_type=MediaType.HTML, headers=_PAGE_HEADERS)
    signer: TokenSigner = request.app.state.token_signer
    cookie = Cookie(key=SESSION_COOKIE, value=signer.issue(username), httponly=True, samesite="lax", path="/")
    return Redirect(target, status_code=303, cookies=[cookie])


@post("/logout", include_in_schema=False, status_code=303, sync_to_thread=False)
def logout() -> Redirect:
    """Log out: the cookie is gone."""
    return Redirect("/", status_code=303, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])
