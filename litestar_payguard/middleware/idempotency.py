"""The ``Idempotency-Key`` middleware: every unsafe request safe to retry, exactly once.

Semantics (IETF idempotency-key draft, Stripe):

- A key is 1 to 255 printable ASCII characters (else 400 ``IDEMPOTENCY_KEY_INVALID``). Where a route requires one,
  a request without it is 400 ``IDEMPOTENCY_KEY_REQUIRED``; elsewhere requests without a key pass untouched.
- A key lives in a scope: the principal (merchant, and customer when there is one), the method and the route.
- The route's guards run first: a request they refuse claims nothing and gets no stored answer.
- The first request claims the key atomically (a unique constraint) and runs. Meanwhile the same key answers
  409 ``IDEMPOTENCY_KEY_IN_USE`` with ``Retry-After``.
- Once it completed, the same key and request get the stored response back, byte for byte, with
  ``Idempotent-Replayed: true``, and nothing runs again. The same key with another request (fingerprint: the
  canonical body and the path parameters) is 422 ``IDEMPOTENCY_KEY_REUSED``.
- A response is stored exactly when its transaction commits: 2xx, and refusals that recorded a change (they
  replay too). Any other response (4xx that changed nothing, 5xx, a failed commit) releases the key.
- A claim whose request died is taken over after the lock timeout (90 s).

It applies to POST, PUT, PATCH and DELETE. payguard's routers carry one; the plugin also registers one at the
application level that acts only on the host's routes that opt in, with ``opt={"payguard_idempotency":
"optional" | "required"}`` or by being listed in ``PayGuardConfig.idempotency_routes`` /
``idempotency_required_routes``. A host may also attach ``IdempotencyMiddleware()`` to a route or router itself.
``"off"`` disables it on a route.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar, cast

from litestar import Request

from litestar_payguard.exceptions import ImproperConfigurationError, PayGuardError, PayloadTooLargeError
from litestar_payguard.identity import PRINCIPAL_STATE_KEY
from litestar_payguard.middleware.transaction import TransactionMiddleware
from litestar_payguard.problems import (
    RETRY_AFTER_SECONDS,
    error_body,
    is_infrastructure_error,
    problem_messages,
    unavailable_body,
)
from litestar_payguard.runtime import payguard_of
from litestar_payguard.services.idempotency import (
    IdempotencyService,
    KeyClaim,
    StoredResponse,
    fingerprint,
    key_scope,
    parse_key,
)

if TYPE_CHECKING:
    from litestar.handlers import BaseRouteHandler
    from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.principal import Principal
    from litestar_payguard.runtime import PayGuard

__all__ = (
    "IDEMPOTENCY_MODES",
    "IDEMPOTENCY_OPT_KEY",
    "UNSAFE_METHODS",
    "IdempotencyMiddleware",
    "check_idempotency_opts",
    "route_mode",
)

logger = logging.getLogger("litestar_payguard")

IDEMPOTENCY_OPT_KEY = "payguard_idempotency"
"""Route ``opt`` key: ``"optional"`` (the default), ``"required"`` or ``"off"``."""
IDEMPOTENCY_MODES = frozenset({"optional", "required", "off"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REPLAYED_HEADER = (b"idempotent-replayed", b"true")
KEY_HEADER_NAME = b"idempotency-key"


class IdempotencyMiddleware(TransactionMiddleware):
    """Idempotency keys on top of the transaction boundary; holds no per-request state.

    Args:
        opt_in: Act only on routes that opt in (route ``opt`` or the config's route lists) and leave
            payguard's own routes, which have their own instance, alone. The plugin's application-level
            instance is built this way; an instance attached to routes directly acts on all of them.
    """

    key_in_body: ClassVar[bool] = False
    """Whether the key is in the request's body (:meth:`body_key`, read first) rather than its header."""

    def __init__(self, *, opt_in: bool = False) -> None:
        super().__init__()
        if opt_in:
            self.should_bypass_for_scope = _not_opted_in

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Claim, replay or refuse the request's key, then run it inside the transaction boundary."""
        if self.is_inside_boundary(scope):
            await next_app(scope, receive, send)
            return
        payguard = payguard_of(scope)
        mode = self._mode(scope, payguard)
        if mode == "off" or (not self.may_have_key(scope) and mode != "required"):
            await self.run_in_transaction(scope, receive, send, next_app, payguard=payguard, claim=None)
            return
        outcome = await self._prepare(scope, receive, payguard, required=mode == "required")
        if isinstance(outcome, list):  # a replay, a refusal, or nothing at all for a client that went away
            for message in outcome:
                await send(message)
            return
        claim, body = outcome
        await self.run_in_transaction(scope, _replaying(body, receive), send, next_app, payguard=payguard, claim=claim)

    def may_have_key(self, scope: Scope) -> bool:
        """Whether the request may carry a key: it has the ``Idempotency-Key`` header."""
        return _header(scope, KEY_HEADER_NAME) is not None

    def body_key(self, body: bytes) -> str | None:  # noqa: ARG002 - for subclasses whose key is in the body
        """The key a request's body holds (with :attr:`key_in_body`); ``None``: it has none."""
        return None

    async def namespace(self, scope: Scope, payguard: PayGuard, print_: str) -> str:  # noqa: ARG002
        """The scope of the request's key: its principal (resolved here, once), method and route."""
        principal = await self._principal(scope, payguard)
        return key_scope(principal, cast("str", scope.get("method", "")), scope.get("path_template", scope["path"]))

    async def claim(
        self, payguard: PayGuard, namespace: str, key: str, print_: str, *, count_in_use: bool = True
    ) -> KeyClaim | StoredResponse:
        """Claim the key, or the response its completed request stored (see :class:`IdempotencyService`)."""
        async with payguard.db_connection() as connection:
            service = IdempotencyService(connection, payguard.config)
            return await service.claim(namespace, key, print_, count_in_use=count_in_use)

    def replay(self, stored: StoredResponse) -> list[Message]:
        """The messages replaying a stored response, marked ``Idempotent-Replayed: true``."""
        return _replay(stored)

    async def refusal(self, scope: Scope, payguard: PayGuard, exc: PayGuardError) -> list[Message]:
        """The messages refusing the request over its key (or its body): a problem document."""
        return problem_messages(error_body(exc, prefix=payguard.config.path, instance=scope["path"]), exc.headers)

    async def _prepare(
        self, scope: Scope, receive: Receive, payguard: PayGuard, *, required: bool
    ) -> list[Message] | tuple[KeyClaim | None, bytes]:
        """Validate the key, read the body and claim: the claim (``None``: no key), or what to answer instead.

        A header's key is checked before the body is read; a key in the body (:attr:`key_in_body`) after.
        """
        instance = scope["path"]
        try:
            key = None if self.key_in_body else parse_key(_header(scope, KEY_HEADER_NAME), required=True)
            body = await _read_body(receive, limit=payguard.config.max_body_bytes)
            if body is _GONE:  # the client went away before sending its whole body: nothing is claimed or run
                return []
            if body is None:
                msg = "The request body is too large."
                raise PayloadTooLargeError(msg)
            key = parse_key(self.body_key(body), required=required) if self.key_in_body else key
            if key is None:
                return None, body
            print_ = fingerprint(body, scope.get("path_params", {}))
            namespace = await self.namespace(scope, payguard, print_)
            # The key's scope knows the principal, not who the route's guards let in (an admin, and anyone else, act
            # for the same merchant): a request they refuse must neither claim a key nor get its stored answer.
            await scope["route_handler"].authorize_connection(Request(scope))
            claimed = await self.claim(payguard, namespace, key, print_)
        except PayGuardError as exc:
            return await self.refusal(scope, payguard, exc)
        except Exception as exc:
            if not is_infrastructure_error(exc):
                raise
            logger.warning("payguard: idempotency store unavailable on %s: %r", instance, exc)
            return problem_messages(unavailable_body(instance), {"Retry-After": str(RETRY_AFTER_SECONDS)})
        return self.replay(claimed) if isinstance(claimed, StoredResponse) else (claimed, body)

    @staticmethod
    def _mode(scope: Scope, payguard: PayGuard) -> str:
        if scope.get("method") not in UNSAFE_METHODS:
            return "off"
        return route_mode(scope["route_handler"], scope.get("path_template", ""), payguard.config)

    @staticmethod
    async def _principal(scope: Scope, payguard: PayGuard) -> Principal:
        """Resolve the key's principal once; the route's ``payguard_principal`` dependency reuses it.

        Without the request's session: a merchant lookup, when one is needed, uses a short session of its own,
        closed before the claim takes a connection. Holding the request's session (and its pooled connection)
        while waiting for another would deadlock a full pool.
        """
        request: Request[Any, Any, Any] = Request(scope)
        principal = cast("Principal | None", request.state.get(PRINCIPAL_STATE_KEY))
        if principal is None:
            principal = await payguard.principals.resolve(request)
            request.state[PRINCIPAL_STATE_KEY] = principal
        return principal


def route_mode(handler: BaseRouteHandler, path_template: str, config: PayGuardConfig) -> str:
    """The mode of a route's unsafe requests: ``required`` where the config lists it, else its ``opt``'s."""
    if path_template in config.idempotency_required_routes:
        return "required"
    return cast("str", handler.opt.get(IDEMPOTENCY_OPT_KEY, "optional"))


def check_idempotency_opts(handlers: Any) -> None:
    """Refuse, at start-up, a route ``opt`` value that is not a mode (a typo would silently mean "optional").

    Raises:
        ImproperConfigurationError: A route's ``payguard_idempotency`` is not one of the modes.
    """
    for handler in handlers:
        mode = handler.opt.get(IDEMPOTENCY_OPT_KEY)
        if mode is not None and mode not in IDEMPOTENCY_MODES:
            msg = (
                f"Route {sorted(handler.paths)}: opt {IDEMPOTENCY_OPT_KEY}={mode!r} must be one of "
                f"{sorted(IDEMPOTENCY_MODES)}."
            )
            raise ImproperConfigurationError(msg)


def _not_opted_in(scope: Scope) -> bool:
    """Whether the application-level instance should stay out of this request."""
    handler = scope.get("route_handler")
    if handler is not None and handler.opt.get(IDEMPOTENCY_OPT_KEY) in {"optional", "required"}:
        return False
    payguard = payguard_of(scope)
    template = scope.get("path_template", "")
    config = payguard.config
    if config.owns_path(template):
        return True  # payguard's own routes: their router's instance handles them
    return template not in config.idempotency_routes and template not in config.idempotency_required_routes


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope["headers"]:
        if header == name:
            return value.decode("latin-1")
    return None


_GONE = b"\x00client-disconnected"


async def _read_body(receive: Receive, *, limit: int) -> bytes | None:
    """Read the whole request body: ``None`` when it exceeds ``limit``, ``_GONE`` when the client disconnected."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return _GONE
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the route, then defers to the client's."""
    delivered = False

    async def replay() -> ReceiveMessage:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _replay(stored: StoredResponse) -> list[Message]:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers]
    headers += [(b"content-length", str(len(stored.body)).encode()), REPLAYED_HEADER]
    start = {"type": "http.response.start", "status": stored.status, "headers": headers}
    end = {"type": "http.response.body", "body": stored.body, "more_body": False}
    return [cast("Message", start), cast("Message", end)]
