"""The demo's own authentication: log in with a username, get a signed bearer token.

payguard never sees these tokens: it asks the host (this module's :func:`customer_id`) who the customer is,
and the admin routes are behind :func:`requires_admin`, as a real host would wire its own auth.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.params import JSONBody
from litestar.types import ASGIApp, Receive, Scope, Send

from litestar_payguard.middleware.strict_json import check_request
from litestar_payguard.problems import build_exception_handlers

__all__ = ("SESSION_COOKIE", "DemoUser", "TokenAuthMiddleware", "TokenSigner", "customer_id", "login", "requires_admin")

_BEARER = re.compile(r"^Bearer\s+(\S+)$", re.IGNORECASE)
SESSION_COOKIE = "demo_session"
"""The browser's login: the same signed token as the bearer one, in an HttpOnly, SameSite=Lax cookie."""


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A signed-in shopper."""

    username: str
    is_admin: bool


class TokenSigner:
    """Issues and checks ``<base64 username>.<HMAC-SHA256>`` tokens."""

    __slots__ = ("_admins", "_key")

    def __init__(self, secret: str, admins: frozenset[str]) -> None:
        self._key = secret.encode()
        self._admins = admins

    def _signature(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self, username: str) -> str:
        """Return a token for the user."""
        payload = base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")
        return f"{payload}.{self._signature(payload)}"

    def read(self, token: str) -> DemoUser | None:
        """Return the token's user, or ``None`` if the token is not one of ours."""
        payload, _, signature = token.partition(".")
        if not signature or not hmac.compare_digest(signature, self._signature(payload)):
            return None
        username = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        return DemoUser(username=username, is_admin=username in self._admins)

    def user_of(self, username: str) -> DemoUser:
        """Return the user a login creates."""
        return DemoUser(username=username, is_admin=username in self._admins)


class TokenAuthMiddleware(ASGIMiddleware):
    """Puts the bearer token's user, else the login cookie's (or ``None``), in ``scope["user"]``.

    Routes decide what they require. The cookie is ``SameSite=Lax``: another site's form or script never sends it
    with a ``POST``, and payguard's JSON routes refuse a form's content type anyway.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, signer: TokenSigner) -> None:
        self.signer = signer

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Resolve the user and call the app."""
        user = None
        for name, value in scope["headers"]:
            if name == b"authorization" and (match := _BEARER.match(value.decode("latin-1"))):
                user = self.signer.read(match.group(1))
                break
        else:
            token = _cookie(scope, SESSION_COOKIE)
            user = self.signer.read(token) if token else None  # a tampered cookie is nobody
        scope["user"] = user
        await next_app(scope, receive, send)


def _cookie(scope: Scope, wanted: str) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, cookie = part.strip().partition("=")
                if key == wanted and cookie:
                    return cookie
    return None


def customer_id(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """Tell payguard who the customer is: the signed-in user's name."""
    user = connection.scope.get("user")
    return user.username if isinstance(user, DemoUser) else None


def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of payguard's admin routes: 401 when anonymous, 403 for shoppers."""
    user = connection.scope.get("user")
    if not isinstance(user, DemoUser):
        raise NotAuthorizedException("Log in first: /login in a browser, POST /auth/login for the API.")
    if not user.is_admin:
        raise PermissionDeniedException("Admins only.")


class Login(msgspec.Struct, forbid_unknown_fields=True):
    """Log in as anyone: the demo has no passwords."""

    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]


class Token(msgspec.Struct, rename="camel"):
    """A bearer token for ``Authorization: Bearer <token>``."""

    access_token: str
    token_type: str
    username: str
    is_admin: bool


@post(
    "/auth/login",
    status_code=200,
    operation_id="demoLogin",
    tags=["demo"],
    before_request=check_request,  # payguard's strict JSON input, with its problem details
    exception_handlers=build_exception_handlers("/payguard"),
)
async def login(data: JSONBody[Login], request: Request[Any, Any, Any]) -> Token:
    """Issue a bearer token for the username."""
    signer: TokenSigner = request.app.state.token_signer
    user = signer.user_of(data.username)
    return Token(
        access_token=signer.issue(user.username),
        token_type="bearer",  # noqa: S106  # the OAuth token type, not a secret
        username=user.username,
        is_admin=user.is_admin,
    )
